import { describe, expect, it } from 'vitest';
import { CommandError, ConfigurationError } from '../../../src/core/errors.js';
import { Inputs, mapInputs } from '../../../src/core/inputs.js';
import { MemoryLog } from '../../support/memory-log.js';
import { runAction } from '../../../src/core/run.js';
import { retry } from '../../../src/core/retry.js';
import { FakeClock } from '../../support/clock.js';

function recorder() {
  const calls: string[] = [];
  return {
    calls,
    hooks: {
      setOutput: (name: string, value: string) => calls.push(`output ${name}=${value}`),
      setFailed: (message: string) => calls.push(`failed ${message}`),
    },
  };
}

describe('runAction', () => {
  it('writes outputs before failing, so a failed deploy still reports its status', async () => {
    const { calls, hooks } = recorder();
    const result = await runAction(
      async ({ outputs }) => {
        outputs.set('status', 'rolled-back');
        return { failure: 'the release was rolled back' };
      },
      { hooks, log: new MemoryLog(), inputs: new Inputs(mapInputs({})) },
    );
    expect(calls).toEqual(['output status=rolled-back', 'failed the release was rolled back']);
    expect(result.failure).toBe('the release was rolled back');
  });

  it('keeps outputs set before an exception and tells configuration errors from command errors', async () => {
    const { calls, hooks } = recorder();
    await runAction(
      async ({ outputs }) => {
        outputs.set('status', 'failed');
        throw new CommandError('docker stack deploy', 1, 'line\nupdate out of sequence');
      },
      { hooks, log: new MemoryLog(), inputs: new Inputs(mapInputs({})) },
    );
    expect(calls).toEqual([
      'output status=failed',
      'failed docker stack deploy exited with code 1: line\nupdate out of sequence',
    ]);

    const second = recorder();
    await runAction(
      async () => {
        throw new ConfigurationError('expected true or false, got "yes"', 'dry-run');
      },
      { hooks: second.hooks, log: new MemoryLog(), inputs: new Inputs(mapInputs({})) },
    );
    expect(second.calls).toEqual(['failed Configuration error: Input "dry-run": expected true or false, got "yes"']);
  });

  it('reports an unexpected error as internal with its stack in the debug log', async () => {
    const { calls, hooks } = recorder();
    const log = new MemoryLog();
    await runAction(
      async () => {
        throw new TypeError('boom');
      },
      { hooks, log, inputs: new Inputs(mapInputs({})) },
    );
    expect(calls).toEqual(['failed Internal error: boom']);
    expect(log.lines.some((l) => l.startsWith('debug: TypeError: boom'))).toBe(true);
  });
});

describe('retry', () => {
  it('backs off exponentially with full jitter until success', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const value = await retry(
      async () => {
        calls += 1;
        if (calls < 4) throw new Error('ThrottlingException');
        return 'ok';
      },
      { deadlineMs: 60_000, baseDelayMs: 100, clock, random: () => 1, retryable: () => true },
    );
    expect(value).toBe('ok');
    expect(clock.sleeps).toEqual([100, 200, 400]);
  });

  it('uses a server-given delay and stops at the deadline', async () => {
    const clock = new FakeClock();
    await expect(
      retry(
        async () => {
          throw new Error('429');
        },
        { deadlineMs: 5000, clock, retryable: () => 2000 },
      ),
    ).rejects.toThrow('429');
    expect(clock.sleeps).toEqual([2000, 2000]);
  });

  it('does not retry what is not retryable', async () => {
    const clock = new FakeClock();
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls += 1;
          throw new Error('AccessDenied');
        },
        { deadlineMs: 5000, clock, retryable: () => false },
      ),
    ).rejects.toThrow('AccessDenied');
    expect(calls).toBe(1);
  });
});
