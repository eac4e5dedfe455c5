// Writes the reference part of docs/cli.md from the commands' own usage (what `--help` prints), so
// the options listed there cannot drift from the code. `--check` fails when docs/cli.md is stale.
// The prose above the reference is written by hand.
import { readFileSync, writeFileSync } from 'node:fs';
import { CONNECTION_HELP } from '../src/cli/connection.js';
import { commands } from '../src/cli/main.js';
import { OUTPUT_HELP } from '../src/cli/operator.js';

const DOC = 'docs/cli.md';
const START = "<!-- Generated from the commands' usage by `npm run build`; do not edit below by hand. -->";
const SHARED = `\n\n${CONNECTION_HELP}\n\n${OUTPUT_HELP}`;

function block(text: string): string[] {
  return ['```text', text, '```', ''];
}

/** docs/cli.md with its reference section rendered anew from the commands. */
export function renderCliDoc(current: string = readFileSync(DOC, 'utf8')): string {
  const at = current.indexOf(START);
  const prose = (at < 0 ? current : current.slice(0, at)).trimEnd();
  const parts = [prose, '', START, '', '## Reference: every option', ''];
  parts.push(
    'Every command that talks to the cluster takes these:',
    '',
    ...block(`${CONNECTION_HELP}\n\n${OUTPUT_HELP}`),
  );
  for (const [name, command] of Object.entries(commands)) {
    const own = command.usage.endsWith(SHARED) ? command.usage.slice(0, -SHARED.length) : command.usage;
    parts.push(`### ${name}`, '', ...block(own));
  }
  return `${parts.join('\n').trimEnd()}\n`;
}

if (process.argv[1]?.endsWith('cli-docs.ts')) {
  const text = renderCliDoc();
  if (process.argv.includes('--check')) {
    if (readFileSync(DOC, 'utf8') !== text) {
      console.error(`${DOC} is stale: run \`npm run build\` (or node --import tsx scripts/cli-docs.ts).`);
      process.exit(1);
    }
  } else {
    writeFileSync(DOC, text);
  }
}
