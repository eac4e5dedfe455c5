import { spawn } from 'node:child_process';
import { CommandError } from '../core/errors.js';
import { describeCommand } from './quote.js';

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

export function checkResult(argv: readonly string[], result: CommandResult, options: RunOptions): CommandResult {
  if (result.code !== 0 && !options.allowFailure) {
    throw new CommandError(describeCommand(argv), result.code, result.stderr || result.stdout);
  }
  return result;
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

/** Runs commands on this machine (a runner that is itself a manager, the demo, the tests). */
export class LocalRunner implements CommandRunner {
  readonly description = 'local';
  private readonly live = new Set<ReturnType<typeof spawn>>();

  run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const [program, ...args] = argv;
      if (program === undefined) throw new TypeError('empty command');
      const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      this.live.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), options.timeoutMs) : undefined;
      child.on('error', (error) => {
        this.live.delete(child);
        if (timer) clearTimeout(timer);
        reject(error);
      });
      child.on('close', (code) => {
        this.live.delete(child);
        if (timer) clearTimeout(timer);
        try {
          resolve(checkResult(argv, { code, stdout, stderr }, options));
        } catch (error) {
          reject(error);
        }
      });
      child.stdin.on('error', () => undefined); // the command may exit before reading stdin
      child.stdin.end(options.stdin ?? '');
    });
  }

  stream(argv: readonly string[], onLine: (line: string) => void): StreamHandle {
    const [program, ...args] = argv;
    if (program === undefined) throw new TypeError('empty command');
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.live.add(child);
    const lines = new LineSplitter(onLine);
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => lines.push(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const done = new Promise<CommandResult>((resolve) => {
      child.on('error', (error) => resolve({ code: null, stdout: '', stderr: String(error) }));
      child.on('close', (code) => {
        this.live.delete(child);
        lines.flush();
        resolve({ code, stdout: '', stderr });
      });
    });
    return { stop: () => child.kill('SIGTERM'), done };
  }

  async close(): Promise<void> {
    for (const child of this.live) child.kill('SIGTERM');
    this.live.clear();
  }
}
