import { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { ConnectionError, errorMessage } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { pinnedKeyTypes, verifyHostKey, type PinnedKey } from './known-hosts.js';
import { commandLine } from './quote.js';
import {
  checkResult,
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
}

/** Errors that mean "this manager cannot be reached", as opposed to "it refused us". */
const UNREACHABLE =
  /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ECONNRESET|Timed out while waiting for handshake|No response from server/;

function hostKeyAlgorithms(types: string[] | undefined): string[] | undefined {
  if (!types) return undefined;
  return types.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
}

/**
 * One SSH connection per action run, reused for every command, with the host key checked against
 * pinned keys before authentication. If the connection drops (a manager restarts sshd, a network
 * blip) the next command reconnects through the same checks, and the log says so.
 */
export class SshRunner implements CommandRunner {
  private ssh: NodeSSH | undefined;
  private connected: { host: string; port: number } | undefined;
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
    const at = this.connected ?? this.target.hosts[0];
    return `ssh ${this.target.user}@${at?.host}:${at?.port}`;
  }

  /** Connect to the first reachable manager. Host key and auth failures never fall through to the next. */
  async connect(): Promise<void> {
    if (this.ssh?.isConnected()) return;
    // Commands issued together (the watch reads services and tasks side by side) share one
    // connection attempt instead of each opening, and leaking, a connection of its own.
    this.connecting ??= this.openConnection().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private connecting: Promise<void> | undefined;

  private async openConnection(): Promise<void> {
    const reconnect = this.connected !== undefined;
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
      this.ssh = ssh;
      this.connected = target;
      this.connections += 1;
      this.log.info(
        `${reconnect ? 'Reconnected' : 'Connected'} to manager ${target.host}:${target.port} as ${this.target.user} (host key verified)`,
      );
      return;
    }
    throw new ConnectionError(`No manager reachable over SSH: ${failures.join('; ')}`);
  }

  private async connection(): Promise<NodeSSH> {
    if (!this.ssh?.isConnected()) {
      if (this.connected && !this.connecting)
        this.log.warning(`SSH connection to ${this.connected.host}:${this.connected.port} was lost; reconnecting`);
      await this.connect();
    }
    return this.ssh as NodeSSH;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const line = commandLine(argv);
    for (let attempt = 1; ; attempt++) {
      const ssh = await this.connection();
      let channel: ClientChannel | undefined;
      const timer = options.timeoutMs ? setTimeout(() => channel?.close(), options.timeoutMs) : undefined;
      try {
        const result = await ssh.execCommand(line, {
          noTrim: true,
          ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
          onChannel: (c) => {
            channel = c;
            this.channels.add(c);
          },
        });
        // A null code with the connection gone means the transport died, not the command.
        if (result.code === null && !ssh.isConnected() && attempt === 1 && options.stdin === undefined) continue;
        return checkResult(argv, { code: result.code, stdout: result.stdout, stderr: result.stderr }, options);
      } catch (error) {
        if (!ssh.isConnected() && attempt === 1 && options.stdin === undefined) continue;
        throw error;
      } finally {
        if (timer) clearTimeout(timer);
        if (channel) this.channels.delete(channel);
      }
    }
  }

  stream(argv: readonly string[], onLine: (line: string) => void): StreamHandle {
    const lines = new LineSplitter(onLine);
    let channel: ClientChannel | undefined;
    let stopped = false;
    const done = (async (): Promise<CommandResult> => {
      try {
        const ssh = await this.connection();
        if (stopped) return { code: null, stdout: '', stderr: '' };
        const result = await ssh.execCommand(commandLine(argv), {
          noTrim: true,
          onChannel: (c) => {
            channel = c;
            this.channels.add(c);
            if (stopped) c.close();
          },
          onStdout: (chunk) => lines.push(chunk.toString('utf8')),
        });
        lines.flush();
        return { code: result.code, stdout: '', stderr: result.stderr };
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
    this.ssh?.dispose();
    this.ssh = undefined;
  }
}
