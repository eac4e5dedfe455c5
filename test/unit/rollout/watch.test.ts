import { describe, expect, test } from 'vitest';
import { MemoryLog } from '../../support/memory-log.js';
import type { Clock } from '../../../src/core/retry.js';
import type { ServiceInfo, TaskInfo } from '../../../src/state/docker.js';
import { RolloutWatch, shortImage, type WatchOptions, type WatchTarget } from '../../../src/rollout/watch.js';
import { FakeClock, FrozenClock } from '../../support/clock.js';
import { FakeSwarm, SENT_AT, service, task, type Frame } from '../../support/swarm-fixtures.js';

const OLD_START = SENT_AT - 600_000;
const NEW_START = SENT_AT + 300;
const ROLLBACK_START = SENT_AT + 8_000;

const webBefore = service('shop_web', { id: 'web', replicas: 2, update: { state: 'completed', startedAt: OLD_START } });
const workerBefore = service('shop_worker', { id: 'worker', update: { state: 'completed', startedAt: OLD_START } });

function web(state: string | undefined, startedAt = NEW_START): ServiceInfo {
  return service('shop_web', { id: 'web', replicas: 2, ...(state ? { update: { state, startedAt } } : {}) });
}
function worker(state: string | undefined, startedAt = NEW_START): ServiceInfo {
  return service('shop_worker', { id: 'worker', ...(state ? { update: { state, startedAt } } : {}) });
}

const running = (id: string, serviceId = 'web', slot = 1) => task({ id, serviceId, state: 'running', slot });
const crashed = (id: string, serviceId = 'web') =>
  task({ id, serviceId, state: 'failed', desired: 'shutdown', at: SENT_AT + 3_000, err: 'task: non-zero exit (3)' });

const frame = (services: ServiceInfo[], tasks: TaskInfo[] = []): Frame => ({ services, tasks });

function watch(
  swarm: FakeSwarm,
  targets: WatchTarget[],
  options: Partial<WatchOptions> & { clock?: Clock } = {},
): { log: MemoryLog; run: ReturnType<RolloutWatch['run']> } {
  const log = new MemoryLog();
  const run = new RolloutWatch({
    runner: swarm,
    log,
    targets,
    sentAt: SENT_AT,
    timeoutMs: 60_000,
    autoRollback: true,
    clock: new FakeClock(SENT_AT),
    useEvents: false,
    ...options,
  }).run();
  return { log, run };
}

const rollbackCommands = (swarm: FakeSwarm) => swarm.commands.filter((c) => c.includes('--rollback'));

describe('RolloutWatch', () => {
  test('completed → deployed, with no rollback and the completion on the timeline', async () => {
    const swarm = new FakeSwarm([
      frame([web('updating')], [running('a')]),
      frame([web('completed')], [running('a'), running('b', 'web', 2)]),
    ]);
    const { run } = watch(swarm, [{ name: 'shop_web', before: webBefore }]);
    const result = await run;
    expect(result.outcome).toBe('deployed');
    expect(result.reason).toBeUndefined();
    expect(rollbackCommands(swarm)).toEqual([]);
    expect(result.services).toEqual([
      expect.objectContaining({
        name: 'shop_web',
        running: 2,
        desired: 2,
        updateState: 'completed',
        phase: 'completed',
      }),
    ]);
    expect(result.timeline.map((e) => e.text)).toEqual(
      expect.arrayContaining([
        'shop_web: updating',
        'shop_web: update completed',
        expect.stringMatching(/^shop_web\.2 running/),
      ]),
    );
    expect(result.finalAt).toBeGreaterThanOrEqual(SENT_AT);
  });

  test('a stale final state from before the deploy is not the verdict: it waits for our update', async () => {
    const before = web('rollback_completed', OLD_START);
    const swarm = new FakeSwarm([
      frame([web('rollback_completed', OLD_START)]),
      frame([web('rollback_completed', OLD_START)]),
      frame([web('updating')]),
      frame([web('completed')], [running('a'), running('b', 'web', 2)]),
    ]);
    const result = await watch(swarm, [{ name: 'shop_web', before }]).run;
    expect(result.outcome).toBe('deployed');
    expect(swarm.commands.filter((c) => c.startsWith('docker service inspect'))).toHaveLength(4);
  });

  test('rollback_completed by Swarm → rolled-back, the task error and its log tail named, no command of ours', async () => {
    const swarm = new FakeSwarm(
      [
        frame([web('updating')], [running('old1'), crashed('bad1')]),
        frame([web('rollback_started', ROLLBACK_START)], [running('old1'), crashed('bad1')]),
        frame([web('rollback_completed', ROLLBACK_START)], [running('old1'), crashed('bad1')]),
      ],
      [],
      { bad1: 'starting\nError: cannot connect to db\nexit 3' },
    );
    const { run, log } = watch(swarm, [{ name: 'shop_web', before: webBefore }]);
    const result = await run;
    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toBe('shop_web: new tasks failed — task: non-zero exit (3)');
    expect(rollbackCommands(swarm)).toEqual([]);
    expect(result.failures).toEqual([
      {
        service: 'shop_web',
        taskId: 'bad1',
        error: 'task: non-zero exit (3)',
        logs: expect.stringContaining('cannot connect to db'),
      },
    ]);
    expect(log.text()).toContain('Error: cannot connect to db');
    expect(result.timeline.map((e) => e.text)).toEqual(
      expect.arrayContaining([
        'shop_web.1 failed: task: non-zero exit (3)',
        'shop_web: Swarm started rolling back',
        'rollback completed: the previous version is serving',
      ]),
    );
  });

  test('paused → issues docker service update --rollback and ends rolled-back', async () => {
    const swarm = new FakeSwarm(
      [frame([web('updating')]), frame([web('paused')], [running('old1'), crashed('bad1')])],
      [
        frame([web('rollback_started', ROLLBACK_START)], [running('old1'), crashed('bad1')]),
        frame(
          [web('rollback_completed', ROLLBACK_START)],
          [running('old1'), running('old2', 'web', 2), crashed('bad1')],
        ),
      ],
    );
    const result = await watch(swarm, [{ name: 'shop_web', before: webBefore }]).run;
    expect(rollbackCommands(swarm)).toEqual(['docker service update --detach=true --rollback shop_web']);
    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toMatch(/^shop_web: new tasks failed and the update paused — task: non-zero exit \(3\)/);
  });

  test('one failing service rolls back every other service this deploy changed (whole stack)', async () => {
    const swarm = new FakeSwarm(
      [frame([web('updating'), worker('rollback_started')], [running('a'), crashed('w1', 'worker')])],
      [
        frame([web('rollback_started', ROLLBACK_START), worker('rollback_started')], [crashed('w1', 'worker')]),
        frame([web('rollback_completed', ROLLBACK_START), worker('rollback_completed')], [crashed('w1', 'worker')]),
      ],
    );
    const result = await watch(swarm, [
      { name: 'shop_web', before: webBefore },
      { name: 'shop_worker', before: workerBefore },
    ]).run;
    // Swarm is already rolling the worker back: only web needs our command.
    expect(swarm.rolledBack).toEqual(['shop_web']);
    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toBe('shop_worker: new tasks failed — task: non-zero exit (3)');
    expect(result.services.map((s) => [s.name, s.phase])).toEqual([
      ['shop_web', 'rollback_completed'],
      ['shop_worker', 'rollback_completed'],
    ]);
  });

  test('a service this deploy created that keeps failing is removed', async () => {
    const api = service('shop_api', { id: 'api' });
    const failures = ['x', 'y', 'z'].map((id) => crashed(id, 'api'));
    const swarm = new FakeSwarm([frame([api], failures.slice(0, 1)), frame([api], failures)]);
    const result = await watch(swarm, [{ name: 'shop_api', before: undefined }]).run;
    expect(swarm.removed).toEqual(['shop_api']);
    expect(rollbackCommands(swarm)).toEqual([]);
    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toMatch(/^shop_api: new tasks keep failing — task: non-zero exit \(3\)/);
  });

  test('a service whose replica count alone changed is rolled back, never removed', async () => {
    const scaled = service('shop_web', { id: 'web', replicas: 4 });
    const pending = task({ id: 'p', serviceId: 'web', state: 'pending', slot: 4 });
    const swarm = new FakeSwarm([frame([scaled], [running('a'), running('b', 'web', 2), pending])]);
    const result = await watch(swarm, [{ name: 'shop_web', before: undefined, existed: true }], { stuckMs: 5_000 }).run;
    expect(swarm.removed).toEqual([]);
    expect(swarm.rolledBack).toEqual(['shop_web']);
    expect(result.reason).toMatch(/stuck pending/);
  });

  test('timeout → every changed service is rolled back and the reason says what it waited for', async () => {
    const clock = new FakeClock(SENT_AT);
    const swarm = new FakeSwarm(
      [frame([web('updating')], [running('old1')])],
      [frame([web('rollback_completed', ROLLBACK_START)], [running('old1')])],
    );
    const result = await watch(swarm, [{ name: 'shop_web', before: webBefore }], { timeoutMs: 10_000, clock }).run;
    expect(clock.time - SENT_AT).toBeGreaterThanOrEqual(10_000);
    expect(clock.time - SENT_AT).toBeLessThan(12_000);
    expect(swarm.rolledBack).toEqual(['shop_web']);
    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toBe('timed out after 10s waiting for shop_web (updating, 1/2 running)');
  });

  test('tasks stuck pending past stuck-timeout → rollback', async () => {
    const pending = task({ id: 'p', serviceId: 'web', state: 'pending', createdAt: SENT_AT + 500 });
    const swarm = new FakeSwarm(
      [frame([web('updating')], [running('old1'), pending])],
      [frame([web('rollback_completed', ROLLBACK_START)], [running('old1')])],
    );
    const result = await watch(swarm, [{ name: 'shop_web', before: webBefore }], { stuckMs: 5_000 }).run;
    expect(swarm.rolledBack).toEqual(['shop_web']);
    expect(result.outcome).toBe('rolled-back');
    expect(result.reason).toMatch(/^shop_web: new tasks stuck pending/);
  });

  test('with auto-rollback off a failure ends failed and nothing is rolled back', async () => {
    const swarm = new FakeSwarm([frame([web('paused')], [crashed('bad1')])]);
    const result = await watch(swarm, [{ name: 'shop_web', before: webBefore }], { autoRollback: false }).run;
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/task: non-zero exit \(3\).*auto-rollback is off/);
    expect(rollbackCommands(swarm)).toEqual([]);
    expect(swarm.removed).toEqual([]);
  });

  test('a rollback that pauses ends failed and says the rollback did not complete', async () => {
    const swarm = new FakeSwarm(
      [frame([web('paused')], [crashed('bad1')])],
      [frame([web('rollback_paused', ROLLBACK_START)], [crashed('bad1')])],
    );
    const result = await watch(swarm, [{ name: 'shop_web', before: webBefore }]).run;
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/the rollback did not complete: shop_web \(rollback paused/);
  });

  test('a failed rollback command is a warning, and the watch still ends within its deadline', async () => {
    const swarm = new FakeSwarm([frame([web('paused')], [crashed('bad1')])]);
    const original = swarm.run.bind(swarm);
    swarm.run = async (argv, options) => {
      if (argv.includes('--rollback')) throw new Error('update out of sequence');
      return original(argv, options);
    };
    const clock = new FakeClock(SENT_AT);
    const { run, log } = watch(swarm, [{ name: 'shop_web', before: webBefore }], { clock, timeoutMs: 10_000 });
    const result = await run;
    expect(result.outcome).toBe('failed');
    expect(log.warnings.map((w) => w.message)).toEqual(['Could not roll back shop_web: update out of sequence']);
    expect(clock.time - SENT_AT).toBeLessThanOrEqual(10_000 + 120_000 + 1_000);
  });

  describe('docker events', () => {
    const event = JSON.stringify({ Type: 'service', Action: 'update', Actor: { Attributes: { name: 'shop_web' } } });

    test('streams swarm service events for the watched services, bounded by --since/--until, and stops them', async () => {
      const swarm = new FakeSwarm([frame([web('completed')], [running('a'), running('b', 'web', 2)])]);
      await watch(swarm, [{ name: 'shop_web', before: webBefore }], { useEvents: true, timeoutMs: 60_000 }).run;
      expect(swarm.streams).toHaveLength(1);
      const argv = swarm.streams[0]?.argv ?? [];
      expect(argv.slice(0, 6)).toEqual(['docker', 'events', '--filter', 'scope=swarm', '--filter', 'type=service']);
      expect(argv).toEqual(expect.arrayContaining(['--filter', 'service=shop_web', '--format', '{{json .}}']));
      const since = Number(argv[argv.indexOf('--since') + 1]);
      const until = Number(argv[argv.indexOf('--until') + 1]);
      expect(since).toBeLessThanOrEqual(SENT_AT / 1000);
      expect(until).toBeGreaterThanOrEqual((SENT_AT + 60_000) / 1000);
      expect(swarm.streams[0]?.stopped).toBe(true);
    });

    test('an event line wakes the loop at once (the clock alone would never move on)', async () => {
      const swarm = new FakeSwarm([
        frame([web('updating')]),
        frame([web('completed')], [running('a'), running('b', 'web', 2)]),
      ]);
      const { run } = watch(swarm, [{ name: 'shop_web', before: webBefore }], {
        useEvents: true,
        clock: new FrozenClock(SENT_AT),
      });
      setTimeout(() => swarm.emit(event), 20);
      const result = await run;
      expect(result.outcome).toBe('deployed');
    }, 3_000);

    test('an event that arrives while the loop is reading the swarm is not lost', async () => {
      const swarm = new FakeSwarm([
        frame([web('updating')]),
        frame([web('completed')], [running('a'), running('b', 'web', 2)]),
      ]);
      swarm.onInspect = (count) => {
        if (count === 1) swarm.emit(event);
      };
      const { run } = watch(swarm, [{ name: 'shop_web', before: webBefore }], {
        useEvents: true,
        clock: new FrozenClock(SENT_AT),
      });
      const result = await run;
      expect(result.outcome).toBe('deployed');
    }, 3_000);

    test('a stream cut by a dropped connection is started again, and its events still decide the verdict', async () => {
      const swarm = new FakeSwarm([frame([web('updating')])]);
      const stateEvent = (state: string, offsetMs: number) =>
        JSON.stringify({
          Type: 'service',
          Actor: { Attributes: { name: 'shop_web', 'updatestate.new': state } },
          timeNano: (SENT_AT + offsetMs) * 1e6,
        });
      swarm.onInspect = (count) => {
        // The first read is done; the connection drops, taking the stream with it.
        if (count === 1) swarm.drop();
        // The restarted stream replays this deploy's events (--since the deploy), then the final one.
        if (count === 2)
          setTimeout(() => {
            swarm.emit(stateEvent('updating', 300));
            swarm.emit(stateEvent('completed', 9_000));
          }, 10);
      };
      const { run, log } = watch(swarm, [{ name: 'shop_web', before: webBefore }], {
        useEvents: true,
        clock: new FrozenClock(),
      });
      const result = await run;
      expect(result.outcome).toBe('deployed');
      expect(swarm.streams).toHaveLength(2);
      expect(swarm.streams[1]?.argv).toStrictEqual(swarm.streams[0]?.argv);
      expect(swarm.streams[0]?.dropped).toBe(true);
      expect(swarm.streams[1]?.stopped).toBe(true);
      expect(log.text()).toMatch(/docker events: the connection dropped; starting the stream again/);
    }, 3_000);

    test('a stream that ended by itself is not started again', async () => {
      const swarm = new FakeSwarm([
        frame([web('updating')]),
        frame([web('completed')], [running('a'), running('b', 'web', 2)]),
      ]);
      swarm.onInspect = (count) => {
        if (count === 1) swarm.streams[0]?.end({ code: 0, stdout: '', stderr: '' });
      };
      await watch(swarm, [{ name: 'shop_web', before: webBefore }], { useEvents: true }).run;
      expect(swarm.streams).toHaveLength(1);
    });

    test('with the stream alive the loop ticks slowly; without it, it polls every 500 ms', async () => {
      const frames = [
        frame([web('updating')]),
        frame([web('updating')]),
        frame([web('completed')], [running('a'), running('b', 'web', 2)]),
      ];
      const withEvents = new FakeClock(SENT_AT);
      await watch(new FakeSwarm(frames), [{ name: 'shop_web', before: webBefore }], {
        useEvents: true,
        clock: withEvents,
        tickMs: 2_000,
      }).run;
      expect(withEvents.sleeps).toEqual([2_000, 2_000]);
      const polling = new FakeClock(SENT_AT);
      await watch(new FakeSwarm(frames), [{ name: 'shop_web', before: webBefore }], {
        useEvents: false,
        clock: polling,
      }).run;
      expect(polling.sleeps).toEqual([500, 500]);
    });
  });
});

describe('shortImage', () => {
  test.each([
    [`registry.example.com:5000/shop/web:v2@sha256:${'0123456789ab'.repeat(5)}abcd`, 'web:v2@0123456789ab'],
    ['registry.example.com/shop/web:v2', 'web:v2'],
    ['nginx', 'nginx'],
    ['', ''],
  ])('%s → %s', (image, expected) => {
    expect(shortImage(image)).toBe(expected);
  });
});
