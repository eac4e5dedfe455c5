import { describe, expect, test } from 'vitest';
import type { CommandResult, CommandRunner, RunOptions, StreamHandle } from '../../../src/core/exec.js';
import { Inputs, mapInputs } from '../../../src/core/inputs.js';
import { runDeploy } from '../../../src/rollout/deploy.js';
import type { RolloutRequest } from '../../../src/rollout/request.js';
import { readDeploySettings } from '../../../src/rollout/settings.js';
import { RolloutWatch } from '../../../src/rollout/watch.js';
import { fence, FencedError, type HeldLock } from '../../../src/state/lock.js';
import { scratch, writeFile } from '../../support/cli.js';
import { MemoryLog } from '../../support/memory-log.js';
import { FakeClock } from '../../support/clock.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';
import { FakeSwarm, SENT_AT, service, task } from '../../support/swarm-fixtures.js';

const MINE: HeldLock = {
  id: 'lock-mine',
  name: 'sdl.shop',
  holder: { client: 'shop', kind: 'deploy', since: 0, actor: 'first-run', token: 'a' },
};

/** `docker config inspect sdl.shop` as Swarm answers it once another run took the expired lock over. */
function takenOver(): Partial<CommandResult> {
  const holder = { client: 'shop', kind: 'deploy', since: 1, ttlMs: 60_000, actor: 'second-run', token: 'b' };
  return {
    stdout: JSON.stringify([
      {
        ID: 'lock-theirs',
        CreatedAt: '2026-11-23T10:00:00Z',
        Spec: { Name: 'sdl.shop', Data: Buffer.from(JSON.stringify(holder)).toString('base64') },
      },
    ]),
  };
}

const MUTATING = / (create|rm|deploy|update|login) /;

describe('fence', () => {
  test("passes while the lock is still this run's, by its ID", async () => {
    const runner = new ScriptedRunner().on(['docker', 'config', 'inspect', 'sdl.shop'], () => ({
      stdout: JSON.stringify([{ ID: 'lock-mine', Spec: { Name: 'sdl.shop', Data: '' } }]),
    }));
    await expect(fence(runner, MINE, 'the stack deploy')).resolves.toBeUndefined();
  });

  test('stops a run whose lock was taken over, or removed', async () => {
    const over = new ScriptedRunner().on(['docker', 'config', 'inspect', 'sdl.shop'], takenOver);
    await expect(fence(over, MINE, 'the stack deploy')).rejects.toThrow(
      new FencedError(
        "the deploy lock of shop is no longer this run's (it expired and is now held by second-run); stopped before the stack deploy, and nothing more was changed",
        'lock',
      ),
    );
    const gone = new ScriptedRunner().on(['docker', 'config', 'inspect', 'sdl.shop'], () => ({
      code: 1,
      stderr: 'Error: no such config: sdl.shop',
    }));
    await expect(fence(gone, MINE, 'recording the release')).rejects.toThrow(
      /no longer this run's \(it was removed\); stopped before recording the release/,
    );
  });

  test('given the clock, reads a deploy lock back only once half its expiry could have passed', async () => {
    const clock = new FakeClock(1_000_000);
    const held: HeldLock = { ...MINE, holder: { ...MINE.holder, ttlMs: 60_000 }, takenAt: clock.now() };
    const runner = new ScriptedRunner().on(['docker', 'config', 'inspect', 'sdl.shop'], takenOver);
    clock.time += 29_999;
    await expect(fence(runner, held, 'the stack deploy', clock)).resolves.toBeUndefined();
    expect(runner.commands()).toEqual([]);
    clock.time += 1;
    await expect(fence(runner, held, 'recording the release', clock)).rejects.toThrow(
      /no longer this run's .*stopped before recording the release/,
    );
    // A maintenance hold has no expiry: it is always read back.
    const hold: HeldLock = { ...MINE, holder: { ...MINE.holder, kind: 'maintenance' }, takenAt: clock.now() };
    await expect(fence(runner, hold, 'the stack deploy', clock)).rejects.toThrow(FencedError);
  });
});

function request(): RolloutRequest {
  const dir = scratch();
  writeFile(dir, 'stack.yml', 'services:\n  web:\n    image: ${IMAGE}\n');
  const inputs = new Inputs(
    mapInputs({ host: 'local', client: 'shop', 'stack-file': 'stack.yml', image: 'registry.example.com/shop/web:v2' }),
    () => undefined,
  );
  return readDeploySettings(inputs, { GITHUB_WORKSPACE: dir }).request;
}

describe('a deploy whose lock is taken over mid-deploy', () => {
  test('stops before the stack deploy: no further mutating command, a clear failure', async () => {
    const clock = new FakeClock();
    const runner = new ScriptedRunner()
      .on(['docker', 'config', 'create', 'sdl.shop'], () => ({ stdout: 'lock-mine\n' }))
      .on(['docker', 'service', 'inspect', 'shop_web'], () => {
        // A read that takes longer than half the lock's expiry (a connection coming back slowly).
        clock.time += 60 * 60_000;
        return { stdout: JSON.stringify([service('shop_web')]) };
      })
      .on(['docker', 'config', 'ls'], () => ({ stdout: '' }))
      .on(['date'], () => ({ stdout: '1795000000.000000000\n' }))
      // Read back before the stack deploy: another run took the lock over meanwhile.
      .on(['docker', 'config', 'inspect', 'sdl.shop'], takenOver)
      // Its own lock is released by its own ID only: the other run's lock is never touched.
      .on(['docker', 'config', 'rm', 'lock-mine'], () => ({ code: 1, stderr: 'Error: no such config: lock-mine' }));
    const error = await runDeploy({ runner, log: new MemoryLog(), clock }, request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FencedError);
    expect((error as Error).message).toContain('stopped before the stack deploy, and nothing more was changed');
    const commands = runner.commands();
    const mutating = commands.filter((c) => MUTATING.test(` ${c} `));
    expect(mutating).toEqual([
      expect.stringMatching(/^docker config create .* sdl\.shop -$/),
      'docker config rm lock-mine',
    ]);
  });
});

describe('a lock taken a moment ago', () => {
  test('is not read back before the stack deploy: it cannot have expired yet', async () => {
    const runner = new ScriptedRunner()
      .on(['docker', 'config', 'create', 'sdl.shop'], () => ({ stdout: 'lock-mine\n' }))
      .on(['docker', 'service', 'inspect', 'shop_web'], () => ({ stdout: JSON.stringify([service('shop_web')]) }))
      .on(['docker', 'config', 'ls'], () => ({ stdout: '' }))
      .on(['date'], () => ({ stdout: '1795000000.000000000\n' }))
      .on(['docker', 'stack', 'deploy'], () => {
        throw new Error('the stack deploy was sent');
      });
    await expect(runDeploy({ runner, log: new MemoryLog(), clock: new FakeClock() }, request())).rejects.toThrow(
      'the stack deploy was sent',
    );
    expect(runner.commands().filter((c) => c.startsWith('docker config inspect'))).toEqual([]);
  });
});

describe('a watch whose lock is taken over before it rolls back (fake swarm)', () => {
  test('issues no rollback and fails clearly', async () => {
    const before = service('shop_web', { id: 'web', update: { state: 'completed', startedAt: SENT_AT - 600_000 } });
    const failed = service('shop_web', { id: 'web', update: { state: 'paused', startedAt: SENT_AT + 300 } });
    const swarm = new FakeSwarm([
      {
        services: [failed],
        tasks: [
          task({
            id: 't1',
            serviceId: 'web',
            state: 'failed',
            slot: 1,
            err: 'task: non-zero exit (3)',
            createdAt: SENT_AT + 400,
          }),
        ],
      },
    ]);
    // The manager: the swarm's answers, and the lock as another run now holds it.
    const manager: CommandRunner = {
      description: 'fake manager',
      run: (argv: readonly string[], options?: RunOptions) =>
        argv.join(' ') === 'docker config inspect sdl.shop'
          ? Promise.resolve({ code: 0, stdout: takenOver().stdout ?? '', stderr: '' })
          : swarm.run(argv, options),
      stream: (argv: readonly string[], onLine: (line: string) => void): StreamHandle => swarm.stream(argv, onLine),
      close: () => swarm.close(),
    };
    const run = new RolloutWatch({
      runner: manager,
      log: new MemoryLog(),
      targets: [{ name: 'shop_web', before }],
      sentAt: SENT_AT,
      timeoutMs: 60_000,
      autoRollback: true,
      clock: new FakeClock(SENT_AT),
      useEvents: false,
      fence: (step) => fence(manager, MINE, step),
    }).run();
    await expect(run).rejects.toThrow(/no longer this run's .*stopped before rolling back/);
    expect(swarm.rolledBack).toEqual([]);
    expect(swarm.removed).toEqual([]);
    expect(swarm.commands.filter((c) => MUTATING.test(` ${c} `))).toEqual([]);
  });
});
