import { StringDecoder } from 'node:string_decoder';
import type { Duplex } from 'node:stream';
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

/** A jump host (bastion) in front of the managers: its own address and login, the same pinned keys. */
export interface JumpHost {
  host: string;
  port: number;
  user: string;
  /** The bastion's own key; when absent, the managers' key (or agent) logs in to it too. */
  privateKey?: string | undefined;
}

export interface SshTarget {
  /** Managers in order of preference; the next is tried only when one is unreachable. */
  hosts: { host: string; port: number }[];
  user: string;
  /** The private key; when absent, the ssh-agent at `agent` signs (the CLI). */
  privateKey?: string | undefined;
  passphrase?: string | undefined;
  /** An ssh-agent socket (SSH_AUTH_SOCK), used when there is no private key. */
  agent?: string | undefined;
  /** Reach the managers through this bastion: a direct-tcpip channel from it carries their SSH sessions. */
  jump?: JumpHost | undefined;
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

/** One SSH hop: a manager, or the jump host in front of it. */
interface Hop {
  host: string;
  port: number;
  user: string;
  privateKey?: string | undefined;
  passphrase?: string | undefined;
  role: 'manager' | 'jump host';
  /** Through a bastion: the channel it opened to the manager, which carries this session. */
  sock?: Duplex | undefined;
}

/** One opened connection. `lost` is set by the first sign that it is gone, whoever sees it. */
interface Link {
  ssh: NodeSSH;
  /** The jump host the session runs through, closed with it. */
  bastion: NodeSSH | undefined;
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
    const jump = this.target.jump;
    return `ssh ${this.target.user}@${at?.host}:${at?.port}${jump ? ` via ${jump.user}@${jump.host}:${jump.port}` : ''}`;
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
    link.bastion?.dispose();
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

  /**
   * One pass over the managers in order; unreachable ones are listed, refusals thrown. With a jump
   * host, the bastion is connected (its host key checked like a manager's, before anything else is
   * sent) and each manager's SSH session runs inside a direct-tcpip channel it opens.
   */
  private async openConnection(reconnect: boolean): Promise<{ link: Link } | { failures: string[] }> {
    const failures: string[] = [];
    const jump = this.target.jump;
    let bastion: NodeSSH | undefined;
    if (jump) {
      const opened = await this.connectHop({
        ...jump,
        privateKey: jump.privateKey ?? this.target.privateKey,
        passphrase: jump.privateKey === undefined ? this.target.passphrase : undefined,
        role: 'jump host',
      });
      if ('unreachable' in opened) return { failures: [`jump host ${jump.host}:${jump.port} (${opened.unreachable})`] };
      bastion = opened.ssh;
    }
    try {
      for (const [index, target] of this.target.hosts.entries()) {
        const opened = await this.connectManager(target, bastion);
        if ('unreachable' in opened) {
          failures.push(`${target.host}:${target.port} (${opened.unreachable})`);
          const next = this.target.hosts[index + 1];
          if (next)
            this.log.warning(
              `Manager ${target.host}:${target.port} is unreachable (${opened.unreachable}); trying ${next.host}:${next.port}`,
            );
          continue;
        }
        const link: Link = { ssh: opened.ssh, bastion, at: target, lost: undefined };
        bastion = undefined; // the link owns it now
        // A socket error with no listener would be thrown from the event loop, past every caller:
        // listen for the connection's whole life, and mark the link lost at its first sign of death.
        // Through a bastion, either hop going down loses the link.
        for (const [hop, what] of [
          [link.ssh, 'the manager'],
          [link.bastion, 'the jump host'],
        ] as const) {
          hop?.connection?.on('error', (error: Error) => this.markLost(link, error.message));
          hop?.connection?.on('end', () => this.markLost(link, `${what} closed the connection`));
          hop?.connection?.on('close', () => this.markLost(link, 'the connection closed'));
        }
        this.link = link;
        this.last = target;
        this.connections += 1;
        const via = jump ? ` through jump host ${jump.host}:${jump.port}` : '';
        this.log.info(
          `${reconnect ? 'Reconnected' : 'Connected'} to manager ${target.host}:${target.port}${via} as ${this.target.user} (${jump ? 'both host keys' : 'host key'} verified)`,
        );
        return { link };
      }
      return { failures };
    } finally {
      bastion?.dispose();
    }
  }

  /** A manager's SSH session: straight to it, or inside a channel the bastion opens to it. */
  private async connectManager(
    target: { host: string; port: number },
    bastion: NodeSSH | undefined,
  ): Promise<{ ssh: NodeSSH } | { unreachable: string }> {
    let sock: Duplex | undefined;
    if (bastion) {
      try {
        sock = await bastion.forwardOut('127.0.0.1', 0, target.host, target.port);
      } catch (error) {
        // The bastion could not reach the manager (refused, no route): the manager is unreachable.
        return { unreachable: `through the jump host: ${errorMessage(error)}` };
      }
    }
    return this.connectHop({
      ...target,
      user: this.target.user,
      privateKey: this.target.privateKey,
      passphrase: this.target.passphrase,
      role: 'manager',
      sock,
    });
  }

  /**
   * One SSH hop, its host key checked against the pinned keys before authentication. Refusals
   * (host key, authentication, anything not a network failure) are thrown, naming the hop;
   * an unreachable hop is returned, for the caller to try the next manager or to wait.
   */
  private async connectHop(hop: Hop): Promise<{ ssh: NodeSSH } | { unreachable: string }> {
    const ssh = new NodeSSH();
    const name = `${hop.role} ${hop.host}:${hop.port}`;
    let rejection: string | undefined;
    try {
      const algorithms = hostKeyAlgorithms(pinnedKeyTypes(this.target.knownHosts, hop.host, hop.port));
      await ssh.connect({
        host: hop.host,
        port: hop.port,
        ...(hop.sock ? { sock: hop.sock } : {}),
        username: hop.user,
        ...(hop.privateKey ? { privateKey: hop.privateKey } : { agent: this.target.agent }),
        ...(hop.privateKey && hop.passphrase ? { passphrase: hop.passphrase } : {}),
        readyTimeout: this.target.readyTimeoutMs ?? 15_000,
        keepaliveInterval: 10_000,
        ...(algorithms ? { algorithms: { serverHostKey: algorithms } } : {}),
        hostVerifier: (key: Buffer) => {
          const verdict = verifyHostKey(this.target.knownHosts, hop.host, hop.port, key);
          if (!verdict.ok) rejection = verdict.reason;
          return verdict.ok;
        },
      } as Parameters<NodeSSH['connect']>[0]);
    } catch (error) {
      ssh.dispose();
      if (rejection) throw new ConnectionError(hop.role === 'manager' ? rejection : `Refusing ${name}: ${rejection}`);
      const message = errorMessage(error);
      if (/authentication methods failed|All configured authentication/i.test(message)) {
        const key = hop.privateKey
          ? hop.role === 'manager'
            ? 'the ssh-key input'
            : 'its key'
          : "the ssh-agent's keys";
        throw new ConnectionError(
          `SSH authentication as ${hop.user} failed on ${name}: check ${key} and the ${hop.role}'s authorized_keys`,
        );
      }
      if (/no matching host key format/i.test(message)) {
        throw new ConnectionError(
          `${name} offers no host key of a type pinned in known-hosts (${message}); add its current key line`,
        );
      }
      if (!UNREACHABLE.test(message)) throw new ConnectionError(`SSH to ${name} failed: ${message}`);
      return { unreachable: message };
    }
    if (hop.role !== 'manager') {
      // Errors of the bastion's socket while the manager's session is being set up must have a
      // listener; once a link owns it, the link's listeners take over.
      ssh.connection?.on('error', () => undefined);
    }
    return { ssh };
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
    link?.bastion?.dispose();
  }
}
