import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppImage } from '../../lab/lab.js';
import { action as swarmDeploy } from '../../src/actions/swarm-deploy/main.js';
import { ConnectionError, ConnectionLostError } from '../../src/core/errors.js';
import { Inputs, mapInputs } from '../../src/core/inputs.js';
import { MemoryLog } from '../support/memory-log.js';
import { memoryState } from '../../src/core/run.js';
import { parseKnownHosts } from '../../src/transport/known-hosts.js';
import { SshRunner } from '../../src/transport/ssh.js';
import { CutProxy } from './cut-proxy.js';
import {
  capture,
  clientName,
  docker,
  lab,
  privateKey,
  removeClient,
  sshInputs,
  WEB_STACK,
  writeStack,
} from './support.js';

/*
 * A real deploy over the lab's sshd, through a proxy that resets the connection at a chosen point:
 * while the first reads are in flight, while the stack travels through stdin, as an exec starts,
 * while `docker events` streams, during Swarm's rollback, and right before the lock is released.
 * The cut is triggered by what the deploy does (the command the transport's debug line names, or a
 * line of the watch), not by a timer. Each deploy must still end with its true verdict, with the
 * lock released and a reconnect in the log, and never as an internal error.
 */

const run = Date.now().toString(36);
const v1 = buildAppImage(lab, { version: `r1-${run}` });
const v2 = buildAppImage(lab, { version: `r2-${run}` });
const crashing = buildAppImage(lab, { version: `rx-${run}`, mode: 'crash' });

/** A log that lets the test act on each line as the deploy writes it. */
class WatchedLog extends MemoryLog {
  onLine: ((line: string) => void) | undefined;
  override info(m: string): void {
    super.info(m);
    this.onLine?.(m);
  }
  override debug(m: string): void {
    super.debug(m);
    this.onLine?.(`debug: ${m}`);
  }
}

let proxy: CutProxy;
const client = clientName('reconnect');
let stack: string;

beforeAll(async () => {
  proxy = await CutProxy.start(lab.ssh);
  stack = writeStack(client, WEB_STACK);
});

afterAll(async () => {
  await proxy.close();
  await removeClient(client);
}, 120_000);

/** The lab's host key, pinned for the proxy's port. */
const proxyKnownHosts = () => lab.ssh.knownHostsLine.replace(/^\[127\.0\.0\.1\]:\d+/, `[127.0.0.1]:${proxy.port}`);

/** The inputs of a deploy that reaches the manager through the proxy. */
function inputsFor(image: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...sshInputs(),
    port: String(proxy.port),
    'known-hosts': proxyKnownHosts(),
    client,
    'stack-file': stack,
    image,
    timeout: '2m',
    'stuck-timeout': '30s',
    ...extra,
  };
}

/** Run the deploy step; `trigger` sees every line and may cut the proxy. */
async function deployWithCut(image: string, trigger: (line: string) => void, extra: Record<string, string> = {}) {
  const log = new WatchedLog();
  log.onLine = trigger;
  const outputs = new Map<string, string>();
  const state = memoryState();
  let failure: string | undefined;
  const cutsBefore = proxy.cuts;
  await swarmDeploy.main({
    inputs: new Inputs(mapInputs(inputsFor(image, extra)), (v) => log.mask(v)),
    deps: { log },
    hooks: { setOutput: (n, v) => void outputs.set(n, v), setFailed: (m) => void (failure = m), state },
  });
  log.onLine = undefined;
  capture('reconnect deploy', [log.text(), ...outputs.values(), failure ?? ''].join('\n'));
  return { outputs, failure, log, state, cuts: proxy.cuts - cutsBefore };
}

/** A trigger that fires once, on the first line matching `when` after a line matching `after` (if given). */
function once(when: RegExp, act: () => void, after?: RegExp): (line: string) => void {
  let armed = after === undefined;
  let fired = false;
  return (line) => {
    if (fired) return;
    if (!armed) {
      armed = after?.test(line) ?? true;
      return;
    }
    if (when.test(line)) {
      fired = true;
      act();
    }
  };
}

async function lockHeld(): Promise<boolean> {
  const names = await docker('config', 'ls', '--filter', `name=sdl.${client}`, '--format', '{{.Name}}');
  return names.split('\n').includes(`sdl.${client}`);
}

async function runningImage(): Promise<string> {
  return docker('service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', `${client}_web`);
}

type CutDeploy = Awaited<ReturnType<typeof deployWithCut>>;

/** One cut, one reconnect, no internal error, and the lock released at the end. */
async function expectOneReconnect(result: CutDeploy): Promise<void> {
  const text = result.log.text();
  expect(result.cuts, 'the proxy cut a live connection').toBe(1);
  expect(text).not.toMatch(/Internal error/);
  expect(text.match(/Reconnected to manager/g) ?? [], text).toHaveLength(1);
  expect(result.log.warnings.map((w) => w.message).join('\n')).not.toMatch(/Could not release/);
  expect(await lockHeld()).toBe(false);
}

/** The deploy ended deployed, with the version asked for running. */
async function expectDeployed(result: CutDeploy, version: string): Promise<void> {
  expect(result.failure, result.log.text()).toBeUndefined();
  expect(result.outputs.get('status')).toBe('deployed');
  await expectOneReconnect(result);
  expect(await runningImage()).toContain(version);
}

describe('a dropped SSH connection at each point of a deploy', () => {
  it('while the first reads are in flight: they share one reconnect and the deploy lands', async () => {
    const result = await deployWithCut(
      v1,
      // The reads after the lock start together (the history, then the services; the manager's clock
      // was read while the lock was taken): when the last of them starts, all are in flight.
      once(/^debug: ssh: docker service inspect$/, () => proxy.cut(), /^Took the deploy lock/),
    );
    await expectDeployed(result, `r1-${run}`);
  });

  it('while the stack travels through stdin: the deploy is sent again and lands once', async () => {
    const result = await deployWithCut(
      v2,
      // The exec opens a channel, sends the exec request, then the stack: cut before the stack.
      once(/^debug: ssh: docker stack deploy$/, () => proxy.cutBeforeClientChunk(3)),
    );
    await expectDeployed(result, `r2-${run}`);
    expect(result.log.text()).toMatch(/ssh: docker stack deploy interrupted \(.*\); running it again/);
  });

  it('as an exec starts, with the first reconnect attempts reset too: the read is repeated', async () => {
    const result = await deployWithCut(
      v1,
      once(
        /^debug: ssh: docker service inspect$/,
        () => {
          proxy.resetNext(2);
          proxy.cut();
        },
        /^Deploying stack /,
      ),
    );
    await expectDeployed(result, `r1-${run}`);
    expect(result.log.text()).toMatch(/ssh: docker service inspect interrupted \(.*\); running it again/);
    expect(result.log.text()).toMatch(/ssh: reconnect attempt 2 failed \(127\.0\.0\.1:\d+ \(.+\)\); next in/);
  });

  it('while docker events streams: the stream restarts and the verdict still comes', async () => {
    const result = await deployWithCut(
      v2,
      once(/^debug: event: /, () => proxy.cut()),
    );
    await expectDeployed(result, `r2-${run}`);
    expect(result.log.text()).toMatch(/docker events: the connection dropped; starting the stream again/);
  });

  it("during Swarm's rollback of a crashing release: the verdict is rolled-back", async () => {
    const result = await deployWithCut(
      crashing,
      once(/Swarm started rolling back|new tasks keep failing|update paused/, () => proxy.cut()),
    );
    expect(result.outputs.get('status'), result.log.text()).toBe('rolled-back');
    expect(result.failure).toMatch(/was rolled back/);
    await expectOneReconnect(result);
    expect(await runningImage()).toContain(`r2-${run}`);
  });

  it('right before the lock is released: the release reconnects and removes it', async () => {
    const result = await deployWithCut(
      v1,
      // The first `config rm` after the verdict is the lock's (pruning lists before it removes).
      once(/^debug: ssh: docker config rm$/, () => proxy.cut(), /verdict: /),
    );
    await expectDeployed(result, `r1-${run}`);
    expect(result.log.text()).toMatch(/ssh: docker config rm interrupted \(.*\); running it again/);
    expect(result.log.text()).toMatch(/Released sdl\./);
  });

  it('while the release record is written: it is written once and the history reads it', async () => {
    const result = await deployWithCut(
      v2,
      once(/^debug: ssh: docker config create$/, () => proxy.cutBeforeClientChunk(3), /verdict: /),
    );
    await expectDeployed(result, `r2-${run}`);
    expect(result.log.warnings.map((w) => w.message).join('\n')).not.toMatch(/recording it failed/);
    const release = result.outputs.get('release') ?? '';
    expect(await docker('config', 'ls', '--filter', `name=sdr.${client}.${release}`, '--format', '{{.Name}}')).toBe(
      `sdr.${client}.${release}`,
    );
  });

  it('a manager that stays unreachable ends in a clear connection error, and the post step frees the lock', async () => {
    const result = await deployWithCut(
      v1,
      once(/^debug: event: /, () => {
        proxy.refuse(true);
        proxy.cut();
      }),
      { timeout: '10s' },
    );
    proxy.refuse(false);
    expect(result.outputs.get('status')).toBe('failed');
    expect(result.failure).toMatch(
      new RegExp(`Lost the connection to 127\\.0\\.0\\.1:${proxy.port} \\(.*\\) and could not reconnect within 10s`),
    );
    expect(result.failure).not.toMatch(/Internal error/);
    expect(await lockHeld()).toBe(true);

    const postLog = new MemoryLog();
    await swarmDeploy.post({
      inputs: new Inputs(mapInputs(inputsFor(v1)), (v) => postLog.mask(v)),
      deps: { log: postLog },
      hooks: { setOutput: () => undefined, setFailed: (m) => postLog.error(m), state: result.state },
    });
    expect(postLog.errors, postLog.text()).toStrictEqual([]);
    expect(await lockHeld()).toBe(false);
  });
});

/**
 * A remote command that waits (at most a minute) until `gate` exists, then prints `text`: the test
 * cuts the connection while it surely runs, then opens the gate. Run again after a reconnect, it
 * finds the gate open and ends at once.
 */
function gated(gate: string, text: string, readStdin = false): string[] {
  const wait = 'i=0; while [ ! -e "$1" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo "$2"';
  return ['sh', '-c', readStdin ? `cat >/dev/null; ${wait}` : wait, 'sh', gate, text];
}

/** How many gated commands wait on this machine (the lab's manager) for this gate. */
function waitingAt(gate: string): number {
  let count = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0] === 'sh' && argv[1] === '-c' && argv[4] === gate) count += 1;
    } catch {
      // ended while we looked
    }
  }
  return count;
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the SSH transport when the connection drops under running commands', () => {
  let gates: string;
  beforeAll(() => {
    gates = mkdtempSync(join(tmpdir(), 'lt-reconnect-gates-'));
  });
  afterAll(() => rmSync(gates, { recursive: true, force: true }));

  const runnerThroughProxy = (log: MemoryLog, reconnectWithinMs = 30_000) =>
    new SshRunner(
      {
        hosts: [{ host: '127.0.0.1', port: proxy.port }],
        user: lab.ssh.user,
        privateKey,
        knownHosts: parseKnownHosts(proxyKnownHosts()),
        readyTimeoutMs: 10_000,
        reconnectWithinMs,
      },
      log,
    );

  it('five reads running at once share one reconnect and all complete', async () => {
    const log = new MemoryLog();
    const runner = runnerThroughProxy(log);
    const gate = join(gates, 'reads');
    try {
      await runner.connect();
      const cutsBefore = proxy.cuts;
      const reads = [0, 1, 2, 3, 4].map((i) => runner.run(gated(gate, `read ${i}`)));
      await until('the five reads to run on the manager', () => waitingAt(gate) >= 5);
      proxy.cut();
      writeFileSync(gate, '');
      const results = await Promise.all(reads);
      expect(results.map((r) => r.stdout.trim())).toStrictEqual([0, 1, 2, 3, 4].map((i) => `read ${i}`));
      expect(proxy.cuts - cutsBefore).toBe(1);
      expect(runner.connections).toBe(2);
      expect(log.text().match(/Reconnected to manager/g)).toHaveLength(1);
    } finally {
      await runner.close();
    }
  });

  it('a write through stdin is not repeated unless declared idempotent: its caller hears it may have run', async () => {
    const log = new MemoryLog();
    const runner = runnerThroughProxy(log);
    try {
      const gate = join(gates, 'write-once');
      const once = runner.run(gated(gate, 'written', true), { stdin: 'payload', repeatable: false });
      await until('the write to run on the manager', () => waitingAt(gate) >= 1);
      proxy.cut();
      writeFileSync(gate, '');
      const error: unknown = await once.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionLostError);
      expect(String(error)).toMatch(/while `sh` was running \(.*\); it may or may not have taken effect/);

      const idempotentGate = join(gates, 'write-again');
      const again = runner.run(gated(idempotentGate, 'written', true), { stdin: 'payload', repeatable: true });
      await until('the idempotent write to run on the manager', () => waitingAt(idempotentGate) >= 1);
      proxy.cut();
      writeFileSync(idempotentGate, '');
      expect((await again).stdout.trim()).toBe('written');
    } finally {
      await runner.close();
    }
  });

  it('a manager that stays away ends in a ConnectionError after the reconnect window, and later commands fail fast', async () => {
    const log = new MemoryLog();
    const runner = runnerThroughProxy(log, 2000);
    try {
      await runner.connect();
      proxy.refuse(true);
      proxy.cut();
      const error: unknown = await runner.run(['true']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect(String(error)).toMatch(/Lost the connection to 127\.0\.0\.1:\d+ \(.*\) and could not reconnect within 2s/);
      // Having given up once, the next command tries once: no second window of waiting.
      const attemptsBefore = log.lines.filter((l) => /reconnect attempt/.test(l)).length;
      await expect(runner.run(['true'])).rejects.toThrow(/could not reconnect/);
      expect(log.lines.filter((l) => /reconnect attempt/.test(l)).length).toBe(attemptsBefore);
      // Once the manager is back, the runner connects again.
      proxy.refuse(false);
      expect((await runner.run(['echo', 'back'])).stdout.trim()).toBe('back');
    } finally {
      proxy.refuse(false);
      await runner.close();
    }
  });
});
