/**
 * What every operator command shares: where it writes, and how it reports a misuse. Commands are
 * registered by name in main.ts; each parses its own arguments (node:util parseArgs) and returns
 * its exit code.
 */
import { commandSafe } from '../core/log.js';

/** The command's world: output streams and the directory relative paths resolve against. */
export interface CliIo {
  /** Normal output (what a script may read). */
  out(text: string): void;
  /** Diagnostics: errors, warnings, progress. */
  err(text: string): void;
  cwd: string;
}

export interface Command {
  /** One line for the command list. */
  summary: string;
  /** The synopsis and options, shown by `<command> --help` and after a usage error. */
  usage: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** The command line itself is wrong (unknown option, missing argument): exit 2 with the usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** parseArgs reports a malformed command line with a TypeError carrying an ERR_PARSE_ARGS_* code. */
export function isParseArgsError(error: unknown): error is Error {
  return error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS_');
}

export function processIo(): CliIo {
  // Inside a workflow job the runner reads the CLI's stdout and stderr for workflow commands too.
  const safe = process.env.GITHUB_ACTIONS === 'true' ? commandSafe : (text: string) => text;
  const line = (text: string) => safe(text.endsWith('\n') ? text.slice(0, -1) : text) + '\n';
  return {
    out: (text) => process.stdout.write(line(text)),
    err: (text) => process.stderr.write(line(text)),
    cwd: process.cwd(),
  };
}
