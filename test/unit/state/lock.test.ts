import { FakeClock } from '../../support/clock.js';
import { describe, expect, test } from 'vitest';
import { MemoryLog } from '../../support/memory-log.js';
import {
  LockError,
  acquireLock,
  readLock,
  releaseLock,
  releaseMaintenance,
  type LockHolder,
} from '../../../src/state/lock.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';
import { Tenant } from '../../../src/core/tenant.js';

/** The manager's clock runs ahead of the runner's: holder times must be in the manager's. */
const MANAGER_OFFSET = 3_600_000;
const START = Date.parse('2026-11-23T04:00:00Z');

/**
 * The swarm's config store as far as the lock uses it: `config create` is atomic (a second create
 * of a name fails with AlreadyExists, as the managers' Raft store answers), inspect by name, rm by ID.
 */
class FakeConfigStore {
  readonly configs = new Map<string, { id: string; data: string; labels: string[]; createdAt: number }>();
  private ids = 0;
  readonly runner = new ScriptedRunner();
  /** Runs just before a `config rm` is served (another run acting in between). */
  beforeRm: ((id: string) => void) | undefined;

  constructor(readonly clock: FakeClock) {
    this.runner
      .on(['date', '+%s.%N'], () => ({ stdout: `${((clock.now() + MANAGER_OFFSET) / 1000).toFixed(9)}\n` }))
      .on(['docker', 'config', 'create'], (argv, options) => {
        const name = argv[argv.length - 2] as string;
        if (this.configs.has(name)) {
          return {
            code: 1,
            stderr: `Error response from daemon: rpc error: code = AlreadyExists desc = config ${name} already exists`,
          };
        }
        const labels = argv.filter((_w, i) => argv[i - 1] === '--label');
        const id = this.put(name, options.stdin ?? '', labels);
        return { stdout: `${id}\n` };
      })
      .on(['docker', 'config', 'inspect'], (argv) => {
        const name = argv[argv.length - 1] as string;
        const config = this.configs.get(name);
        if (!config) return { code: 1, stderr: `Error response from daemon: no such config: ${name}` };
        return {
          stdout: JSON.stringify([
            {
              ID: config.id,
              // The managers stamp each config with their own clock.
              CreatedAt: new Date(config.createdAt).toISOString(),
              Spec: { Name: name, Data: Buffer.from(config.data).toString('base64') },
            },
          ]),
        };
      })
      .on(['docker', 'config', 'rm'], (argv) => {
        const id = argv[argv.length - 1] as string;
        this.beforeRm?.(id);
        for (const [name, config] of this.configs) {
          if (config.id === id) {
            this.configs.delete(name);
            return { stdout: `${id}\n` };
          }
        }
        return { code: 1, stderr: `Error response from daemon: config ${id} not found` };
      });
  }

  put(name: string, data: string, labels: string[] = []): string {
    this.ids += 1;
    const id = `cfg${this.ids}`.padEnd(25, '0');
    this.configs.set(name, { id, data, labels, createdAt: this.clock.now() + MANAGER_OFFSET });
    return id;
  }

  holder(client: string): LockHolder | undefined {
    const config = this.configs.get(Tenant.parse(client).lockConfig);
    return config ? (JSON.parse(config.data) as LockHolder) : undefined;
  }

  /** Commands run, without the clock reads. */
  commands(): string[] {
    return this.runner.commands().filter((c) => !c.startsWith('date'));
  }
}

const managerNow = (clock: FakeClock) => clock.now() + MANAGER_OFFSET;

function otherHolder(clock: FakeClock, override: Partial<LockHolder> = {}): string {
  return JSON.stringify({
    client: 'acme',
    kind: 'deploy',
    runUrl: 'https://github.com/acme/web/actions/runs/7',
    actor: 'octocat',
    since: managerNow(clock) - 30_000,
    expiresAt: managerNow(clock) + 600_000,
    ...override,
  } satisfies LockHolder);
}

function setup() {
  const clock = new FakeClock(START);
  const swarm = new FakeConfigStore(clock);
  const log = new MemoryLog();
  const options = {
    runner: swarm.runner,
    log,
    client: 'acme',
    runUrl: 'https://github.com/acme/api/actions/runs/9',
    actor: 'hubot',
    waitMs: 60_000,
    expiryMs: 900_000,
    clock,
    pollMs: 1000,
  };
  return { clock, swarm, log, options };
}

describe('acquireLock', () => {
  test("creates the lock atomically, labelled, with a lifetime counted from the managers' own clock", async () => {
    const { clock, swarm, log, options } = setup();
    const lock = await acquireLock(options);
    expect(lock.name).toBe('sdl.acme');
    expect(swarm.configs.get('sdl.acme')?.id).toBe(lock.id);
    expect(swarm.configs.get('sdl.acme')?.labels).toStrictEqual(['swarm-deploy.client=acme', 'swarm-deploy.kind=lock']);
    expect(swarm.holder('acme')).toStrictEqual({
      client: 'acme',
      kind: 'deploy',
      runUrl: 'https://github.com/acme/api/actions/runs/9',
      actor: 'hubot',
      since: clock.now(),
      expiresAt: clock.now() + 900_000,
      ttlMs: 900_000,
      token: expect.stringMatching(/^[0-9a-f]{24}$/) as unknown,
    });
    // Read back, the lock's age and expiry are the config's creation time on the managers plus its lifetime.
    expect((await readLock(swarm.runner, 'acme'))?.holder).toMatchObject({
      since: managerNow(clock),
      expiresAt: managerNow(clock) + 900_000,
    });
    // One create through stdin, nothing else: no check-then-create window.
    expect(swarm.commands()).toStrictEqual([
      'docker config create --label swarm-deploy.client=acme --label swarm-deploy.kind=lock sdl.acme -',
      'docker config inspect sdl.acme',
    ]);
    // The free path is one command: not even the manager's clock is read.
    expect(swarm.runner.commands().some((c) => c.startsWith('date'))).toBe(false);
    expect(clock.sleeps).toStrictEqual([]);
    expect(log.lines).toStrictEqual(['Took the deploy lock of acme']);
  });

  test('of two deploys racing for the lock, one takes it and the other waits for its release', async () => {
    const { clock, swarm, options } = setup();
    const first = await acquireLock(options);
    const log = new MemoryLog();
    clock.onSleep = (now) => {
      if (now - START >= 4000) void releaseLock(swarm.runner, new MemoryLog(), first);
    };
    const second = await acquireLock({ ...options, log, actor: 'second' });
    expect(second.id).not.toBe(first.id);
    expect(swarm.holder('acme')?.actor).toBe('second');
    expect(clock.sleeps).toStrictEqual([1000, 1000, 1000, 1000]);
    expect(log.lines[0]).toMatch(
      /^Waiting for the deploy lock of acme, held by a deploy by hubot — https:\/\/github\.com\/acme\/api\/actions\/runs\/9 \(held for 0s, expires in 15m/,
    );
    expect(log.lines[1]).toBe('Took the deploy lock of acme after waiting 4s');
    // Waiting is said once, not on every poll.
    expect(log.lines).toHaveLength(2);
  });

  test('gives up after lock-timeout, naming the holder', async () => {
    const { clock, swarm, options } = setup();
    swarm.put('sdl.acme', otherHolder(clock, { message: 'not used for deploys' }));
    const error = await acquireLock({ ...options, waitMs: 5500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).field).toBe('lock-timeout');
    expect((error as Error).message).toMatch(
      /gave up after waiting 5\.5s for the deploy lock of acme, held by a deploy by octocat — https:\/\/github\.com\/acme\/web\/actions\/runs\/7 \(held for 35\.5s/,
    );
    // Polls up to the deadline and no further; the other lock was never touched.
    expect(clock.sleeps).toStrictEqual([1000, 1000, 1000, 1000, 1000, 500]);
    expect(swarm.commands().some((c) => c.startsWith('docker config rm'))).toBe(false);
    expect(swarm.holder('acme')?.actor).toBe('octocat');
  });

  test('a lock-timeout of zero fails at the first sight of another deploy', async () => {
    const { clock, swarm, options } = setup();
    swarm.put('sdl.acme', otherHolder(clock));
    await expect(acquireLock({ ...options, waitMs: 0 })).rejects.toThrow(/gave up .* held by a deploy by octocat/);
    expect(clock.sleeps).toStrictEqual([]);
  });

  test('takes over an expired lock, removing it by its ID, and says so', async () => {
    const { clock, swarm, log, options } = setup();
    const stale = swarm.put('sdl.acme', otherHolder(clock, { expiresAt: managerNow(clock) - 1 }));
    const lock = await acquireLock(options);
    expect(swarm.commands()).toStrictEqual([
      'docker config create --label swarm-deploy.client=acme --label swarm-deploy.kind=lock sdl.acme -',
      'docker config inspect sdl.acme',
      `docker config rm ${stale}`,
      'docker config create --label swarm-deploy.client=acme --label swarm-deploy.kind=lock sdl.acme -',
    ]);
    expect(lock.id).not.toBe(stale);
    expect(swarm.holder('acme')?.actor).toBe('hubot');
    expect(log.warnings.map((w) => w.message)).toStrictEqual([
      expect.stringMatching(
        /^Taking over the expired deploy lock of acme, left by a deploy by octocat — .*runs\/7 \(held for 30s, expired 0s ago\)$/,
      ),
    ]);
    expect(clock.sleeps).toStrictEqual([]);
  });

  test('expires a lock while waiting for it (a holder that crashed mid-deploy)', async () => {
    const { clock, swarm, log, options } = setup();
    swarm.put('sdl.acme', otherHolder(clock, { expiresAt: managerNow(clock) + 2500 }));
    await acquireLock(options);
    expect(clock.sleeps).toStrictEqual([1000, 1000, 1000]);
    expect(log.warnings).toHaveLength(1);
    expect(swarm.holder('acme')?.actor).toBe('hubot');
  });

  test('never removes a lock another waiter took over a moment earlier', async () => {
    const { clock, swarm, log, options } = setup();
    const stale = swarm.put('sdl.acme', otherHolder(clock, { expiresAt: managerNow(clock) - 1 }));
    // Another waiter wins the takeover between our inspect and our rm.
    let winner = '';
    swarm.beforeRm = () => {
      if (winner) return;
      swarm.configs.delete('sdl.acme');
      winner = swarm.put('sdl.acme', otherHolder(clock, { actor: 'winner', since: managerNow(clock) }));
    };
    // The winner finishes its deploy two seconds later.
    clock.onSleep = (now) => {
      if (now - START >= 2000 && swarm.configs.get('sdl.acme')?.id === winner) swarm.configs.delete('sdl.acme');
    };
    const lock = await acquireLock(options);
    const removals = swarm.commands().filter((c) => c.startsWith('docker config rm'));
    expect(removals).toStrictEqual([`docker config rm ${stale}`]);
    expect(log.lines.filter((l) => l.startsWith('Waiting'))).toStrictEqual([
      expect.stringMatching(/^Waiting for the deploy lock of acme, held by a deploy by winner/),
    ]);
    expect(clock.sleeps).toStrictEqual([1000, 1000]);
    expect(swarm.holder('acme')?.actor).toBe('hubot');
    expect(lock.id).not.toBe(winner);
  });

  test('a lock whose content cannot be read counts as expired', async () => {
    const { swarm, log, options } = setup();
    const broken = swarm.put('sdl.acme', 'not json');
    await acquireLock(options);
    expect(swarm.commands()).toContain(`docker config rm ${broken}`);
    expect(log.warnings[0]?.message).toMatch(
      /Taking over the expired deploy lock of acme, left by a deploy by an unknown run/,
    );
  });

  test('a maintenance hold fails a deploy at once, naming who holds it and why', async () => {
    const { clock, swarm, options } = setup();
    swarm.put(
      'sdl.acme',
      otherHolder(clock, { kind: 'maintenance', expiresAt: undefined, message: 'restoring the database' }),
    );
    const error = await acquireLock({ ...options, waitMs: 600_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).field).toBe('lock');
    expect((error as Error).message).toMatch(
      /deploys of acme are on hold: a maintenance hold by octocat — .*runs\/7 \(held for 30s\): "restoring the database"\. Release it with lock: release/,
    );
    expect(clock.sleeps).toStrictEqual([]);
    expect(swarm.commands().some((c) => c.startsWith('docker config rm'))).toBe(false);
  });

  test('a maintenance hold never expires and carries its message', async () => {
    const { clock, swarm, options } = setup();
    await acquireLock({ ...options, kind: 'maintenance', message: 'incident 42', expiryMs: 0 });
    expect(swarm.holder('acme')).toMatchObject({
      kind: 'maintenance',
      message: 'incident 42',
      since: clock.now(),
    });
    expect(swarm.holder('acme')?.expiresAt).toBeUndefined();
  });

  test('a lock that exists but cannot be inspected is waited for within lock-timeout, not spun on', async () => {
    const { clock, options } = setup();
    const runner = new ScriptedRunner()
      .on(['date'], () => ({ stdout: `${START / 1000}\n` }))
      .on(['docker', 'config', 'create'], () => ({ code: 1, stderr: 'config sdl.acme already exists' }))
      .on(['docker', 'config', 'inspect'], () => ({ code: 1, stderr: 'permission denied' }));
    await expect(acquireLock({ ...options, runner, waitMs: 3000 })).rejects.toThrow(
      /gave up after waiting 3s for the deploy lock of acme: sdl\.acme exists but cannot be read/,
    );
    expect(clock.sleeps).toStrictEqual([1000, 1000, 1000]);
    expect(runner.calls.length).toBeLessThan(20);
  });

  test('an unexpected create failure is an error, not a wait', async () => {
    const { options } = setup();
    const runner = new ScriptedRunner()
      .on(['date'], () => ({ stdout: `${START / 1000}\n` }))
      .on(['docker', 'config', 'create'], () => ({
        code: 1,
        stderr: 'Error response from daemon: This node is not a swarm manager.',
      }));
    await expect(acquireLock({ ...options, runner })).rejects.toThrow(
      /could not create the deploy lock: .*not a swarm manager/,
    );
  });
});

describe('releaseLock and releaseMaintenance', () => {
  test('releaseLock removes this run’s lock by ID and tolerates one already gone', async () => {
    const { swarm, options } = setup();
    const lock = await acquireLock(options);
    const log = new MemoryLog();
    await releaseLock(swarm.runner, log, lock);
    expect(swarm.configs.has('sdl.acme')).toBe(false);
    expect(swarm.commands().at(-1)).toBe(`docker config rm ${lock.id}`);
    await releaseLock(swarm.runner, log, lock);
    expect(log.lines[0]).toBe('Released sdl.acme');
    expect(log.lines[1]).toMatch(/^debug: lock sdl\.acme .* was already gone/);
  });

  test('releaseLock never touches a newer lock of the same client', async () => {
    const { swarm, options } = setup();
    const mine = await acquireLock(options);
    swarm.configs.delete('sdl.acme'); // expired and taken over by another run
    const theirs = swarm.put('sdl.acme', '{}');
    await releaseLock(swarm.runner, new MemoryLog(), mine);
    expect(swarm.configs.get('sdl.acme')?.id).toBe(theirs);
  });

  test('releaseMaintenance ends a hold', async () => {
    const { clock, swarm } = setup();
    const id = swarm.put('sdl.acme', otherHolder(clock, { kind: 'maintenance', expiresAt: undefined }));
    await expect(releaseMaintenance(swarm.runner, new MemoryLog(), 'acme')).resolves.toBe(true);
    expect(swarm.commands()).toStrictEqual(['docker config inspect sdl.acme', `docker config rm ${id}`]);
  });

  test('releaseMaintenance refuses to remove a running deploy’s lock', async () => {
    const { clock, swarm } = setup();
    swarm.put('sdl.acme', otherHolder(clock));
    const error = await releaseMaintenance(swarm.runner, new MemoryLog(), 'acme').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockError);
    expect((error as Error).message).toMatch(/belongs to a running deploy, not a maintenance hold/);
    expect(swarm.configs.has('sdl.acme')).toBe(true);
    expect(swarm.commands().some((c) => c.startsWith('docker config rm'))).toBe(false);
  });

  test('releaseMaintenance with no lock says so and changes nothing', async () => {
    const { swarm } = setup();
    const log = new MemoryLog();
    await expect(releaseMaintenance(swarm.runner, log, 'acme')).resolves.toBe(false);
    expect(log.lines).toStrictEqual(['acme has no lock to release']);
  });
});
