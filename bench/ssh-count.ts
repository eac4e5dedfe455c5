/**
 * Counts SSH connections from sshd's own log (LogLevel VERBOSE writes one "Accepted publickey"
 * line per authenticated connection). Other lab users may connect to the same sshd at the same
 * time, so each line is attributed by its client port: while the step runs, the TCP sockets to
 * sshd of this process and of its children (a step run as its own process) are sampled from /proc,
 * and only lines whose port is one of ours count.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

const ACCEPTED = /Accepted publickey for \S+ from (\S+) port (\d+)/;

/** This process and its children (a step's bundle runs in a child process of its own). */
function ownProcesses(): string[] {
  const pids = ['self'];
  try {
    for (const task of readdirSync('/proc/self/task')) {
      const children = readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim();
      if (children) pids.push(...children.split(/\s+/));
    }
  } catch {
    // no children listing on this kernel: this process's own sockets only
  }
  return pids;
}

function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const pid of ownProcesses()) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited while we looked
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const match = /^socket:\[(\d+)\]$/.exec(target);
        if (match?.[1]) inodes.add(match[1]);
      } catch {
        // closed while we looked
      }
    }
  }
  return inodes;
}

/** Local ports of this process's TCP connections to `remotePort` (IPv4 loopback). */
function ownPortsTo(remotePort: number): number[] {
  const inodes = ownSocketInodes();
  const ports: number[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [localAddress, remoteAddress, inode] = [fields[1], fields[2], fields[9]];
      if (!localAddress || !remoteAddress || !inode || !inodes.has(inode)) continue;
      if (parseInt(remoteAddress.split(':')[1] ?? '', 16) !== remotePort) continue;
      ports.push(parseInt(localAddress.split(':')[1] ?? '', 16));
    }
  }
  return ports;
}

export interface ConnectionCount {
  /** Connections this process opened during the window, per sshd's log. */
  ours: number;
  /** Every accepted connection in the window, whoever opened it. */
  all: number;
}

export class SshdLogCounter {
  private offset = 0;
  private readonly ports = new Set<number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logPath: string,
    private readonly sshdPort: number,
  ) {}

  start(): void {
    this.offset = statSync(this.logPath).size;
    this.ports.clear();
    const sample = () => {
      for (const port of ownPortsTo(this.sshdPort)) this.ports.add(port);
    };
    sample();
    this.timer = setInterval(sample, 20);
  }

  /** Stop sampling and count; sshd may write its line a moment after the handshake, so read last. */
  async stop(): Promise<ConnectionCount> {
    if (this.timer) clearInterval(this.timer);
    await new Promise((r) => setTimeout(r, 200));
    const text = readFileSync(this.logPath).subarray(this.offset).toString('utf8');
    let ours = 0;
    let all = 0;
    for (const line of text.split('\n')) {
      const match = ACCEPTED.exec(line);
      if (!match) continue;
      all += 1;
      if (this.ports.has(Number(match[2]))) ours += 1;
    }
    return { ours, all };
  }
}
