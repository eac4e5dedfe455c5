import { describe, expect, it } from 'vitest';
import { defineAction, type Deps } from '../../../src/core/action.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import { Inputs, mapInputs } from '../../../src/core/inputs.js';
import { LocalRunner } from '../../../src/core/exec.js';
import { memoryState } from '../../../src/core/run.js';
import { systemClock } from '../../../src/core/retry.js';
import { FakeClock } from '../../support/clock.js';
import { MemoryLog } from '../../support/memory-log.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';

function recorder() {
  const calls: string[] = [];
  return {
    calls,
    hooks: {
      setOutput: (name: string, value: string) => void calls.push(`output ${name}=${value}`),
      setFailed: (message: string) => void calls.push(`failed ${message}`),
      state: memoryState(),
    },
  };
}

describe('defineAction', () => {
  it('gives each step one Deps value: the real ones by default, any part replaced by the caller', async () => {
    const seen: (Deps & { greeting: string })[] = [];
    const action = defineAction({
      seams: () => ({ greeting: 'hello' }),
      main: async ({ deps }) => void seen.push(deps),
    });
    const log = new MemoryLog();
    const clock = new FakeClock();
    const runner = new ScriptedRunner();
    await action.main({ inputs: new Inputs(mapInputs({})), hooks: recorder().hooks, deps: { log: new MemoryLog() } });
    await action.main({
      inputs: new Inputs(mapInputs({})),
      hooks: recorder().hooks,
      deps: { log, clock, runner, env: { GITHUB_SHA: 'abc' }, greeting: 'hi' },
    });
    expect(seen[0]?.clock).toBe(systemClock);
    expect(seen[0]?.runner).toBeInstanceOf(LocalRunner);
    expect(seen[0]?.env).toBe(process.env);
    expect(seen[0]?.greeting).toBe('hello');
    expect(seen[1]).toMatchObject({ log, clock, runner, env: { GITHUB_SHA: 'abc' }, greeting: 'hi' });
  });

  it('keeps the run contract: outputs before the failure, configuration errors name the input, masks go to the log', async () => {
    const action = defineAction({
      main: async ({ inputs, outputs }) => {
        outputs.set('status', 'failed');
        inputs.secret('token');
        throw new ConfigurationError('expected a number', 'count');
      },
    });
    const log = new MemoryLog();
    const { calls, hooks } = recorder();
    const result = await action.main({
      inputs: new Inputs(mapInputs({ token: 's3cret' }), (v) => log.mask(v)),
      hooks,
      deps: { log },
    });
    expect(calls).toEqual(['output status=failed', 'failed Configuration error: Input "count": expected a number']);
    expect(result.failure).toBe('Configuration error: Input "count": expected a number');
    expect(log.masked).toContain('s3cret');
  });

  it('hands the state its main step saved to its post step; an action without a post step does nothing there', async () => {
    const { calls, hooks } = recorder();
    const withPost = defineAction({
      main: async ({ state }) => state.save('lock', 'sdl.shop'),
      post: async ({ state, outputs }) => outputs.set('released', state.get('lock')),
    });
    await withPost.main({ hooks, deps: { log: new MemoryLog() }, inputs: new Inputs(mapInputs({})) });
    await withPost.post({ hooks, deps: { log: new MemoryLog() }, inputs: new Inputs(mapInputs({})) });
    const mainOnly = defineAction({ main: async ({ outputs }) => outputs.set('ran', true) });
    const post = await mainOnly.post({ hooks, deps: { log: new MemoryLog() }, inputs: new Inputs(mapInputs({})) });
    expect(calls).toEqual(['output released=sdl.shop']);
    expect(post).toEqual({ outputs: new Map() });
  });
});
