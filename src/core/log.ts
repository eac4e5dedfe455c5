import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';

/** Where an annotation points: a file and line of the user's repository. */
export interface Annotation {
  file?: string;
  startLine?: number;
  title?: string;
}

/**
 * The one logging seam. In an action it is @actions/core (annotations, groups, job summary);
 * in the CLI and the demo it prints to the terminal. Modules never import @actions/core directly.
 */
export interface Log {
  info(message: string): void;
  debug(message: string): void;
  warning(message: string, annotation?: Annotation): void;
  error(message: string, annotation?: Annotation): void;
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Append Markdown to the job summary (a no-op where there is none). */
  summary(markdown: string): Promise<void>;
  /** Mask a value in every later line (core.setSecret; the CLI redacts it itself). */
  mask(value: string): void;
}

/**
 * Text the runner can never read as a workflow command. The runner reads a line as a command when
 * it starts with `::` (after blanks) or holds `##[` (the legacy form), and a line is whatever lies
 * between CR or LF, so text that holds neither `::` nor `##[` is safe as it is. Any other text (a
 * container's log lines, anything read back from the swarm) is printed between
 * `::stop-commands::<token>` and `::<token>::`: the runner processes no command in between. The
 * token is 128 random bits drawn after the text is known, so the text cannot end the block early.
 */
export function commandSafe(text: string, token: string = randomBytes(16).toString('hex')): string {
  if (!text.includes('::') && !text.includes('##[')) return text;
  return `::stop-commands::${token}\n${text}\n::${token}::`;
}

/**
 * The log of an action step. Every line printed with `info` goes through `commandSafe`; the
 * other methods are commands themselves (`::debug::`, `::warning::`, `::error::`, `::group::`,
 * `::add-mask::`), whose data and properties @actions/core escapes (`%`, CR, LF, and in
 * properties `:` and `,`), so a message stays one line of data whatever it holds.
 */
export const actionsLog: Log = {
  info: (m) => core.info(commandSafe(m)),
  debug: (m) => core.debug(m),
  warning: (m, a) => core.warning(m, a ?? {}),
  error: (m, a) => core.error(m, a ?? {}),
  group: (name, fn) => core.group(name, fn),
  summary: async (markdown) => {
    if (!process.env.GITHUB_STEP_SUMMARY) return;
    await core.summary.addRaw(markdown, true).write();
  },
  mask: (v) => core.setSecret(v),
};

/** A terminal log that redacts masked values itself, as the runner would. */
export class ConsoleLog implements Log {
  private readonly secrets = new Set<string>();
  constructor(
    private readonly out: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
    private readonly verbose = false,
  ) {}

  redact(text: string): string {
    let result = text;
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) result = result.split(s).join('***');
    return result;
  }

  info(m: string): void {
    this.out(this.redact(m));
  }
  debug(m: string): void {
    if (this.verbose) this.out(this.redact(`debug: ${m}`));
  }
  warning(m: string, a?: Annotation): void {
    this.out(this.redact(`warning: ${where(a)}${m}`));
  }
  error(m: string, a?: Annotation): void {
    this.out(this.redact(`error: ${where(a)}${m}`));
  }
  async group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.out(this.redact(`▸ ${name}`));
    return fn();
  }
  async summary(): Promise<void> {
    // The terminal shows the log itself; there is no job summary here.
  }
  mask(v: string): void {
    if (v !== '') this.secrets.add(v);
  }
}

function where(a?: Annotation): string {
  if (!a?.file) return '';
  return a.startLine ? `${a.file}:${a.startLine}: ` : `${a.file}: `;
}
