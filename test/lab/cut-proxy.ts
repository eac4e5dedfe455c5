import { createConnection, createServer, type Server, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  server: Socket;
}

/**
 * A loopback TCP proxy in front of the lab's sshd that a test cuts at the moment it chooses, so a
 * dropped connection happens at a known point of a deploy instead of whenever a timer fires:
 * - `cut()` resets every connection through it at once (the client reads ECONNRESET);
 * - `cutBeforeClientChunk(n)` cuts when the client sends its n-th chunk from now, before that
 *   chunk reaches sshd (an exec is a channel open, then the exec request, then its stdin);
 * - `resetNext(n)` accepts and resets the next n connections (a reset while reconnecting);
 * - `refuse(true)` resets every new connection until `refuse(false)` (a manager that stays away).
 * Only the test's own connections pass through it; other users of the lab's sshd are untouched.
 */
export class CutProxy {
  private readonly pairs = new Set<Pair>();
  private refusing = false;
  private resets = 0;
  private chunksUntilCut: number | undefined;
  /** How many times the proxy cut live connections, and how many connections it let through. */
  cuts = 0;
  accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<CutProxy> {
    const server = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        if (typeof address === 'object' && address) resolve(address.port);
        else reject(new Error('the proxy has no port'));
      });
    });
    const proxy = new CutProxy(server, port);
    server.on('connection', (client) => proxy.accept(client, target));
    return proxy;
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    client.on('error', () => undefined);
    if (this.refusing || this.resets > 0) {
      if (this.resets > 0) this.resets -= 1;
      client.resetAndDestroy();
      return;
    }
    this.accepted += 1;
    const server = createConnection(target);
    server.on('error', () => client.destroy());
    const pair = { client, server };
    this.pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (this.chunksUntilCut !== undefined && --this.chunksUntilCut <= 0) {
        this.chunksUntilCut = undefined;
        this.cut();
        return;
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => client.write(chunk));
    const forget = () => {
      this.pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('close', forget);
    server.on('close', forget);
  }

  /** Reset every live connection now: the client side gets a TCP RST, sshd sees its peer gone. */
  cut(): void {
    if (this.pairs.size > 0) this.cuts += 1;
    for (const pair of [...this.pairs]) {
      this.pairs.delete(pair);
      pair.client.resetAndDestroy();
      pair.server.destroy();
    }
  }

  cutBeforeClientChunk(n: number): void {
    this.chunksUntilCut = n;
  }

  resetNext(n: number): void {
    this.resets = n;
  }

  refuse(on: boolean): void {
    this.refusing = on;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
