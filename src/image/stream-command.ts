import { spawn } from 'node:child_process';
import { CommandError } from '../core/errors.js';
import { LineSplitter } from '../core/exec.js';
import { describeCommand } from '../transport/quote.js';

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

/**
 * Runs a long command (docker build, docker push) on this machine and hands every output line
 * over as it comes, so the log shows progress instead of one block at the end. BuildKit prints
 * its progress on stderr and the classic builder on stdout: both streams are followed.
 * Throws CommandError with the output tail on a non-zero exit.
 */
export function streamCommand(argv: readonly string[], options: StreamOptions): Promise<StreamedResult> {
  const [program, ...args] = argv;
  if (program === undefined) throw new TypeError('empty command');
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    const recent: string[] = [];
    let stdout = '';
    const keep = (line: string) => {
      recent.push(line);
      if (recent.length > 40) recent.shift();
      options.onLine(line);
    };
    const out = new LineSplitter(keep);
    const err = new LineSplitter(keep);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      out.push(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => err.push(chunk));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), options.timeoutMs) : undefined;
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      out.flush();
      err.flush();
      const tail = recent.join('\n');
      if (code !== 0) reject(new CommandError(describeCommand(argv), code, tail));
      else resolve({ code, tail, stdout });
    });
  });
}
