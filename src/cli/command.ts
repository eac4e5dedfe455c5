/**
 * What every operator command shares: where it writes, and how it reports a misuse. Commands are
 * registered by name in main.ts; each parses its own arguments (node:util parseArgs) and returns
 * its exit code.
 */

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
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    cwd: process.cwd(),
  };
}
