// Writes docs/actions.md from the action.yml files, so the reference cannot drift from the code.
// `--check` fails when docs/actions.md is not what the action.yml files say.
// The root action.yml is generated from actions/swarm-deploy/action.yml too (by the build).
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

export const ACTIONS = [
  'swarm-deploy',
  'build-and-tag',
  'ecr-push',
  'verify-health',
  'notify-discord',
  'record-deployment',
];

function cell(text) {
  return String(text ?? '')
    .replace(/\s+/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

export function render() {
  const parts = [
    '# Action reference',
    '',
    '<!-- Generated from the action.yml files by `node scripts/generate-docs.mjs`; do not edit by hand. -->',
    '',
  ];
  for (const name of ACTIONS) {
    const action = parse(readFileSync(`actions/${name}/action.yml`, 'utf8'));
    parts.push(
      `## ${name}`,
      '',
      cell(action.description),
      '',
      '```yaml',
      `- uses: swarm-deploy-org/swarm-deploy/actions/${name}@v1`,
      '```',
      '',
    );
    parts.push('| input | required | default | description |', '|---|---|---|---|');
    for (const [input, spec] of Object.entries(action.inputs ?? {})) {
      parts.push(
        `| \`${input}\` | ${spec.required ? 'yes' : 'no'} | ${spec.default !== undefined ? `\`${cell(spec.default)}\`` : ''} | ${cell(spec.description)} |`,
      );
    }
    parts.push('', '| output | description |', '|---|---|');
    for (const [output, spec] of Object.entries(action.outputs ?? {}))
      parts.push(`| \`${output}\` | ${cell(spec.description)} |`);
    parts.push('');
  }
  return `${parts.join('\n')}\n`;
}

const ROOT_ACTION_HEADER =
  '# Generated from actions/swarm-deploy/action.yml by the build (npm run build): edit that file, not this one.\n' +
  '# The swarm-deploy action itself, so `uses: <org>/swarm-deploy@v1` works; the Marketplace lists it with its branding.\n';
const BRANDING = 'branding:\n  icon: upload-cloud\n  color: blue\n';

/**
 * The root action.yml: actions/swarm-deploy/action.yml with the bundles' paths seen from the
 * repository root and the Marketplace branding after its top-level description and author.
 */
export function renderRootAction() {
  const sub = readFileSync('actions/swarm-deploy/action.yml', 'utf8');
  const inputsAt = sub.search(/^inputs:/m);
  if (inputsAt < 0) throw new Error('actions/swarm-deploy/action.yml has no inputs: section');
  const body = sub.slice(0, inputsAt) + BRANDING + sub.slice(inputsAt);
  return ROOT_ACTION_HEADER + body.replaceAll('../../dist/', 'dist/');
}

if (process.argv[1]?.endsWith('generate-docs.mjs')) {
  const text = render();
  if (process.argv.includes('--check')) {
    if (readFileSync('docs/actions.md', 'utf8') !== text) {
      console.error('docs/actions.md is stale: run `node scripts/generate-docs.mjs`.');
      process.exit(1);
    }
  } else {
    writeFileSync('docs/actions.md', text);
  }
}
