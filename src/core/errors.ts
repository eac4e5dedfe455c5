/**
 * Two kinds of failure, kept apart so the message tells the reader who must act:
 * - ConfigurationError: the user must fix an input, a stack file or a setting.
 * - CommandError: an external command (docker, ssh) failed; carries its exit code and stderr tail.
 * Anything else is an internal error of the pack.
 */

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  /**
   * The field at fault, when there is one, as a neutral key (`service-port`, `stack-file`): each
   * boundary spells it its own way (the action `Input "service-port"`, the CLI `--service-port`),
   * so the message itself never names an input or a flag.
   */
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super(message);
    this.field = field;
  }

  /** The message led by its field, as one boundary spells it (`spell` gets the field key). */
  spelled(spell: (field: string) => string): string {
    return this.field === undefined ? this.message : `${spell(this.field)}: ${this.message}`;
  }
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly exitCode: number | null;
  readonly stderrTail: string;
  /** A short, secret-free description of what ran (the first argv words). */
  readonly command: string;

  constructor(command: string, exitCode: number | null, stderr: string, hint?: string) {
    const tail = tailLines(stderr, 20);
    const code = exitCode === null ? 'was killed' : `exited with code ${exitCode}`;
    super(`${command} ${code}${tail ? `: ${tail}` : ''}${hint ? `\n${hint}` : ''}`);
    this.command = command;
    this.exitCode = exitCode;
    this.stderrTail = tail;
  }
}

/** The remote end could not be reached or refused us (network, host key, auth). */
export class ConnectionError extends Error {
  override readonly name: string = 'ConnectionError';
}

/**
 * The connection dropped while a command that must not simply run twice was on its way: the
 * manager may or may not have run it. Callers that can check what happened catch this one.
 */
export class ConnectionLostError extends ConnectionError {
  override readonly name = 'ConnectionLostError';
  constructor(
    message: string,
    /** What ran (the first argv words, no values). */
    readonly command: string,
  ) {
    super(message);
  }
}

/** Socket-level failures of any network client (SSH, HTTP): the link failed, not our code. */
const NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'ENOTCONN', 'ECONNREFUSED']);

export function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  return /\b(ECONNRESET|EPIPE|ECONNABORTED|ENOTCONN)\b/.test(error.message);
}

export function tailLines(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n').trim();
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
