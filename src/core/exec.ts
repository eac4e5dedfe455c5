import { spawn, type ChildProcess } from 'node:child_process';
import { CommandError } from './errors.js';

export interface RunOptions {
  /** Data for the command's stdin: secrets and compose files travel here, never in argv. */
  stdin?: string;
  /** Return a non-zero exit instead of throwing CommandError. */
  allowFailure?: boolean;
  /** Kill the command after this long (local) or close its channel (SSH). */
  timeoutMs?: number;
  /**
   * Whether the SSH transport may run the command again when the connection drops while it runs
   * (the manager may already have run it). Default: yes without stdin, no with stdin. A command
   * that is not repeated fails with ConnectionLostError, for its caller to check what happened.
   */
  repeatable?: boolean;
  /** Each stdout line as it arrives (a command that reports as it goes, such as the gate). */
  onStdoutLine?: (line: string) => void;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface StreamHandle {
  /** Ends the stream; `done` then settles. */
  stop(): void;
  /** Settles when the command ends or the stream is stopped. */
  done: Promise<CommandResult>;
}

/**
 * Where docker commands run: this machine, or a manager over one SSH connection. Commands are
 * always argv arrays; the SSH transport quotes them with the single audited function.
 */
export interface CommandRunner {
  /** For logs: `local` or `ssh root@host:port`. */
  readonly description: string;
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** Run a long-lived command (docker events) and hand each stdout line to `onLine`. */
  stream(argv: readonly string[], onLine: (line: string) => void): StreamHandle;
  close(): Promise<void>;
}

/** A short description of a command for logs and errors: the program and its sub-commands, no values. */
export function describeCommand(argv: readonly string[]): string {
  const words: string[] = [];
  for (const word of argv) {
    if (word.startsWith('-') || words.length >= 3 || !/^[a-z][a-z0-9-]*$/.test(word)) break;
    words.push(word);
  }
  return words.length > 0 ? words.join(' ') : (argv[0] ?? 'command');
}

export function checkResult(argv: readonly string[], result: CommandResult, options: RunOptions): CommandResult {
  if (result.code !== 0 && !options.allowFailure) {
    throw new CommandError(describeCommand(argv), result.code, result.stderr || result.stdout);
  }
  return result;
}

/** The non-empty lines of a command's output, trimmed (a `--format '{{.Name}}'` listing). */
export function outputLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/** Splits a byte stream into lines, holding a partial last line until the next chunk. */
export class LineSplitter {
  private buffer = '';
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: string): void {
    this.buffer += chunk;
    let index = this.buffer.indexOf('\n');
    while (index >= 0) {
      const line = this.buffer.slice(0, index).replace(/\r$/, '');
      this.buffer = this.buffer.slice(index + 1);
      if (line !== '') this.onLine(line);
      index = this.buffer.indexOf('\n');
    }
  }
  flush(): void {
    if (this.buffer.trim() !== '') this.onLine(this.buffer.replace(/\r$/, ''));
    this.buffer = '';
  }
}

interface SpawnOptions {
  /** Data for stdin; without it stdin is closed at once (`ignore`). */
  stdin?: string | undefined;
  env?: Record<string, string> | undefined;
  cwd?: string | undefined;
  timeoutMs?: number | undefined;
  /** Each stdout line as it arrives. */
  onStdoutLine?: (line: string) => void;
  /** Each stderr line as it arrives. */
  onStderrLine?: (line: string) => void;
  /** Keep all of stdout in the result; a long-lived stream (docker events) does not. */
  keepStdout?: boolean;
}

/**
 * The one place that starts a process on this machine. Rejects only when the program cannot be
 * started; a non-zero exit is the caller's to judge.
 */
function spawnCommand(
  argv: readonly string[],
  options: SpawnOptions,
): { child: ChildProcess; done: Promise<CommandResult> } {
  const [program, ...args] = argv;
  if (program === undefined) throw new TypeError('empty command');
  const child = spawn(program, args, {
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  let stdout = '';
  let stderr = '';
  const outLines = options.onStdoutLine ? new LineSplitter(options.onStdoutLine) : undefined;
  const errLines = options.onStderrLine ? new LineSplitter(options.onStderrLine) : undefined;
  const keepStdout = options.keepStdout ?? true;
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    if (keepStdout) stdout += chunk;
    outLines?.push(chunk);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    errLines?.push(chunk);
  });
  const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), options.timeoutMs) : undefined;
  const done = new Promise<CommandResult>((resolve, reject) => {
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      outLines?.flush();
      errLines?.flush();
      resolve({ code, stdout, stderr });
    });
  });
  if (options.stdin !== undefined && child.stdin) {
    child.stdin.on('error', () => undefined); // the command may exit before reading stdin
    child.stdin.end(options.stdin);
  }
  return { child, done };
}

/** Runs commands on this machine (a runner that is itself a manager, the demo, the tests). */
export class LocalRunner implements CommandRunner {
  readonly description = 'local';
  private readonly live = new Set<ChildProcess>();

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const { child, done } = spawnCommand(argv, {
      stdin: options.stdin ?? '',
      timeoutMs: options.timeoutMs,
      ...(options.onStdoutLine ? { onStdoutLine: options.onStdoutLine } : {}),
    });
    this.live.add(child);
    try {
      return checkResult(argv, await done, options);
    } finally {
      this.live.delete(child);
    }
  }

  stream(argv: readonly string[], onLine: (line: string) => void): StreamHandle {
    const { child, done } = spawnCommand(argv, { onStdoutLine: onLine, keepStdout: false });
    this.live.add(child);
    return {
      stop: () => child.kill('SIGTERM'),
      done: done
        .catch((error: unknown): CommandResult => ({ code: null, stdout: '', stderr: String(error) }))
        .finally(() => this.live.delete(child)),
    };
  }

  async close(): Promise<void> {
    for (const child of this.live) child.kill('SIGTERM');
    this.live.clear();
  }
}

export interface StreamedResult {
  code: number | null;
  /** The last lines of stdout and stderr, interleaved as they arrived. */
  tail: string;
  /** All of stdout, for commands whose result is printed (docker push prints the digest). */
  stdout: string;
}

export interface StreamOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Every line of stdout and stderr as it arrives. */
  onLine(line: string): void;
  /** Kill the command after this long. */
  timeoutMs?: number;
}

const TAIL_LINES = 40;

/**
 * Runs a long command (docker build, docker push) on this machine and hands every output line
 * over as it comes, so the log shows progress instead of one block at the end. BuildKit prints
 * its progress on stderr and the classic builder on stdout: both streams are followed.
 * Throws CommandError with the output tail on a non-zero exit.
 */
export async function streamCommand(argv: readonly string[], options: StreamOptions): Promise<StreamedResult> {
  const recent: string[] = [];
  const keep = (line: string) => {
    recent.push(line);
    if (recent.length > TAIL_LINES) recent.shift();
    options.onLine(line);
  };
  const { done } = spawnCommand(argv, {
    env: options.env ?? {},
    cwd: options.cwd,
    timeoutMs: options.timeoutMs,
    onStdoutLine: keep,
    onStderrLine: keep,
  });
  const result = await done;
  const tail = recent.join('\n');
  if (result.code !== 0) throw new CommandError(describeCommand(argv), result.code, tail);
  return { code: result.code, tail, stdout: result.stdout };
}
