import { StringDecoder } from 'node:string_decoder';
import { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { formatDuration } from '../core/duration.js';
import { ConnectionError, ConnectionLostError, errorMessage } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { isChannelRefused, isTransportError, mayRepeat, neverSent } from './connection-loss.js';
import { pinnedKeyTypes, verifyHostKey, type PinnedKey } from './known-hosts.js';
import { commandLine } from './quote.js';
import {
  checkResult,
  describeCommand,
  LineSplitter,
  type CommandResult,
  type CommandRunner,
  type RunOptions,
  type StreamHandle,
} from '../core/exec.js';

export interface SshTarget {
  /** Managers in order of preference; the next is tried only when one is unreachable. */
  hosts: { host: string; port: number }[];
  user: string;
  privateKey: string;
  passphrase?: string | undefined;
  knownHosts: PinnedKey[];
  readyTimeoutMs?: number;
  /** How long a dropped connection may take to come back before commands fail (default 60 s). */
  reconnectWithinMs?: number;
}

/** Errors that mean "this manager cannot be reached", as opposed to "it refused us". */
const UNREACHABLE =
  /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ECONNRESET|EPIPE|Timed out while waiting for handshake|No response from server|Connection lost before handshake/;

/** Accepted, then dropped: the manager is there but its sshd (or the path to it) blinked. */
const DROPPED = /ECONNRESET|EPIPE|No response from server|Connection lost before handshake/;

const DEFAULT_RECONNECT_MS = 60_000;

function hostKeyAlgorithms(types: string[] | undefined): string[] | undefined {
  if (!types) return undefined;
  return types.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
}

/** One opened connection. `lost` is set by the first sign that it is gone, whoever sees it. */
interface Link {
  ssh: NodeSSH;
  at: { host: string; port: number };
  lost: string | undefined;
}

/** A command's run on one link: its result, or why the link failed under it. */
type Attempt = { result: CommandResult } | { lost: string; sent: boolean; refused: boolean };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One SSH connection per action run, reused for every command, with the host key checked against
 * pinned keys before authentication. When the connection drops (a manager restarts sshd, a network
 * blip, a reset), every command in flight waits for the same single reconnect, through the same
 * checks, within `reconnectWithinMs`; reads and idempotent writes then run again, and a write that
 * must not run twice fails with ConnectionLostError for its caller to check what happened.
 */
export class SshRunner implements CommandRunner {
  private link: Link | undefined;
  private connecting: Promise<Link> | undefined;
  /** Where the last connection went, for messages once it is gone. */
  private last: { host: string; port: number } | undefined;
  /** A reconnect ran out of time: later commands (the lock release) try once instead of waiting again. */
  private gaveUp = false;
  /** How many connections this runner opened (the benchmark reads it). */
  connections = 0;
  private readonly channels = new Set<ClientChannel>();

  constructor(
    private readonly target: SshTarget,
    private readonly log: Log,
  ) {
    if (target.hosts.length === 0) throw new TypeError('no SSH host given');
  }

  get description(): string {
    const at = this.last ?? this.target.hosts[0];
    return `ssh ${this.target.user}@${at?.host}:${at?.port}`;
  }

  private get reconnectWithinMs(): number {
    return this.target.reconnectWithinMs ?? DEFAULT_RECONNECT_MS;
  }

  /** Connect to the first reachable manager. Host key and auth failures never fall through to the next. */
  async connect(): Promise<void> {
    await this.liveLink();
  }

  /**
   * The open connection, or the one being opened. Commands issued together (the deploy's first
   * reads, the watch's side-by-side reads and its event stream) share one connection attempt
   * instead of each opening, and leaking, a connection of its own.
   */
  private liveLink(): Promise<Link> {
    if (this.link && !this.link.lost) return Promise.resolve(this.link);
    this.connecting ??= this.reopen().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** Mark a link gone (once) and let go of it, so nothing else is sent down a dead socket. */
  private markLost(link: Link, reason: string): void {
    if (link.lost) return;
    link.lost = reason;
    link.ssh.dispose();
  }

  /**
   * Open a connection. After a drop, or when a manager accepted and then dropped us, keep trying
   * with backoff within the reconnect window; a manager that refuses us (host key, auth) or that
   * was never reachable at the start fails at once.
   */
  private async reopen(): Promise<Link> {
    // The lost link stays recorded until a new one replaces it: a later attempt is still a reconnect.
    const previous = this.link;
    const lostFrom = previous ? `${previous.at.host}:${previous.at.port}` : undefined;
    if (previous) this.log.warning(`SSH connection to ${lostFrom} was lost; reconnecting (${previous.lost})`);
    // Having given up once already (the manager stayed away), later commands try once each.
    const patient = !this.gaveUp;
    const started = Date.now();
    for (let round = 1; ; round++) {
      const attempt = await this.openConnection(previous !== undefined);
      if ('link' in attempt) {
        this.gaveUp = false;
        return attempt.link;
      }
      const elapsed = Date.now() - started;
      const retry = patient && (previous !== undefined || attempt.failures.every((f) => DROPPED.test(f)));
      const delay = Math.min(5000, 250 * 2 ** (round - 1));
      if (!retry || elapsed + delay > this.reconnectWithinMs) {
        if (!previous) throw new ConnectionError(`No manager reachable over SSH: ${attempt.failures.join('; ')}`);
        this.gaveUp = true;
        throw new ConnectionError(
          `Lost the connection to ${lostFrom} (${previous.lost}) and could not reconnect within ${formatDuration(this.reconnectWithinMs)}: ${attempt.failures.join('; ')}`,
        );
      }
      this.log.debug(`ssh: reconnect attempt ${round} failed (${attempt.failures.join('; ')}); next in ${delay} ms`);
      await sleep(delay);
    }
  }

  /** One pass over the managers in order; unreachable ones are listed, refusals thrown. */
  private async openConnection(reconnect: boolean): Promise<{ link: Link } | { failures: string[] }> {
    const failures: string[] = [];
    for (const [index, target] of this.target.hosts.entries()) {
      const ssh = new NodeSSH();
      let rejection: string | undefined;
      try {
        const algorithms = hostKeyAlgorithms(pinnedKeyTypes(this.target.knownHosts, target.host, target.port));
        await ssh.connect({
          host: target.host,
          port: target.port,
          username: this.target.user,
          privateKey: this.target.privateKey,
          ...(this.target.passphrase ? { passphrase: this.target.passphrase } : {}),
          readyTimeout: this.target.readyTimeoutMs ?? 15_000,
          keepaliveInterval: 10_000,
          ...(algorithms ? { algorithms: { serverHostKey: algorithms } } : {}),
          hostVerifier: (key: Buffer) => {
            const verdict = verifyHostKey(this.target.knownHosts, target.host, target.port, key);
            if (!verdict.ok) rejection = verdict.reason;
            return verdict.ok;
          },
        } as Parameters<NodeSSH['connect']>[0]);
      } catch (error) {
        ssh.dispose();
        if (rejection) throw new ConnectionError(rejection);
        const message = errorMessage(error);
        if (/authentication methods failed|All configured authentication/i.test(message)) {
          throw new ConnectionError(
            `SSH authentication as ${this.target.user} failed on ${target.host}:${target.port}: check the ssh-key input and the manager's authorized_keys`,
          );
        }
        if (/no matching host key format/i.test(message)) {
          throw new ConnectionError(
            `${target.host}:${target.port} offers no host key of a type pinned in known-hosts (${message}); add its current key line`,
          );
        }
        if (!UNREACHABLE.test(message)) {
          throw new ConnectionError(`SSH to ${target.host}:${target.port} failed: ${message}`);
        }
        failures.push(`${target.host}:${target.port} (${message})`);
        const next = this.target.hosts[index + 1];
        if (next)
          this.log.warning(
            `Manager ${target.host}:${target.port} is unreachable (${message}); trying ${next.host}:${next.port}`,
          );
        continue;
      }
      const link: Link = { ssh, at: target, lost: undefined };
      // A socket error with no listener would be thrown from the event loop, past every caller:
      // listen for the connection's whole life, and mark the link lost at its first sign of death.
      ssh.connection?.on('error', (error: Error) => this.markLost(link, error.message));
      ssh.connection?.on('end', () => this.markLost(link, 'the manager closed the connection'));
      ssh.connection?.on('close', () => this.markLost(link, 'the connection closed'));
      this.link = link;
      this.last = target;
      this.connections += 1;
      this.log.info(
        `${reconnect ? 'Reconnected' : 'Connected'} to manager ${target.host}:${target.port} as ${this.target.user} (host key verified)`,
      );
      return { link };
    }
    return { failures };
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const line = commandLine(argv);
    const command = describeCommand(argv);
    this.log.debug(`ssh: ${command}`);
    let firstLoss: number | undefined;
    for (let attempt = 1; ; attempt++) {
      const link = await this.liveLink();
      const outcome = await this.attempt(link, line, options);
      if ('result' in outcome) return checkResult(argv, outcome.result, options);
      firstLoss ??= Date.now();
      if (outcome.sent && !mayRepeat(options)) {
        throw new ConnectionLostError(
          `Lost the connection to ${link.at.host}:${link.at.port} while \`${command}\` was running (${outcome.lost}); it may or may not have taken effect`,
          command,
        );
      }
      if (Date.now() - firstLoss > this.reconnectWithinMs) {
        throw new ConnectionError(
          `Lost the connection to ${link.at.host}:${link.at.port} (${outcome.lost}) and \`${command}\` could not complete within ${formatDuration(this.reconnectWithinMs)}`,
        );
      }
      this.log.debug(`ssh: ${command} interrupted (${outcome.lost}); running it again`);
      // A refused session leaves the link up: ask again shortly. A lost link is reopened by liveLink().
      if (outcome.refused) await sleep(Math.min(2000, 100 * attempt));
    }
  }

  /** Run a command once on a link, telling a transport failure from the command's own result. */
  private async attempt(link: Link, line: string, options: RunOptions): Promise<Attempt> {
    let channel: ClientChannel | undefined;
    let timedOut = false;
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          channel?.close();
        }, options.timeoutMs)
      : undefined;
    const lines = options.onStdoutLine ? new LineSplitter(options.onStdoutLine) : undefined;
    // A character split between two chunks is held until its last byte arrives.
    const decoder = new StringDecoder('utf8');
    try {
      const result = await link.ssh.execCommand(line, {
        noTrim: true,
        ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
        ...(lines ? { onStdout: (chunk: Buffer) => lines.push(decoder.write(chunk)) } : {}),
        onChannel: (c) => {
          channel = c;
          this.channels.add(c);
        },
      });
      lines?.push(decoder.end());
      lines?.flush();
      // No exit status with the link gone: the transport died under the command, not the command.
      if (result.code === null && !timedOut && link.lost) return { lost: link.lost, sent: true, refused: false };
      return { result: { code: result.code, stdout: result.stdout, stderr: result.stderr } };
    } catch (error) {
      if (!isTransportError(error) && !link.lost) throw error;
      const refused = isChannelRefused(error) && !link.lost;
      if (!refused) this.markLost(link, errorMessage(error));
      return { lost: errorMessage(error), sent: !neverSent(error), refused };
    } finally {
      if (timer) clearTimeout(timer);
      if (channel) this.channels.delete(channel);
    }
  }

  /**
   * A long-lived command whose lines are handed over as they come. A dropped connection ends the
   * stream with a null code (it is not restarted here: only its caller knows whether running it
   * again is right, as it is for `docker events --since`).
   */
  stream(argv: readonly string[], onLine: (line: string) => void): StreamHandle {
    const lines = new LineSplitter(onLine);
    let channel: ClientChannel | undefined;
    let stopped = false;
    const done = (async (): Promise<CommandResult> => {
      try {
        const link = await this.liveLink();
        if (stopped) return { code: null, stdout: '', stderr: '' };
        const result = await link.ssh.execCommand(commandLine(argv), {
          noTrim: true,
          onChannel: (c) => {
            channel = c;
            this.channels.add(c);
            if (stopped) c.close();
          },
          onStdout: (chunk) => lines.push(chunk.toString('utf8')),
        });
        lines.flush();
        return { code: result.code, stdout: '', stderr: result.code === null && link.lost ? link.lost : result.stderr };
      } catch (error) {
        return { code: null, stdout: '', stderr: errorMessage(error) };
      } finally {
        if (channel) this.channels.delete(channel);
      }
    })();
    return {
      stop: () => {
        stopped = true;
        channel?.close();
      },
      done,
    };
  }

  async close(): Promise<void> {
    for (const channel of this.channels) channel.close();
    this.channels.clear();
    const link = this.link;
    this.link = undefined;
    link?.ssh.dispose();
  }
}
