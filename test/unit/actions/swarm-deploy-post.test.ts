import { describe, expect, it } from 'vitest';
import { LOCK_STATE } from '../../../src/actions/swarm-deploy/main.js';
import { runPost } from '../../../src/actions/swarm-deploy/post-main.js';
import { Inputs, mapInputs } from '../../../src/core/inputs.js';
import { memoryState } from '../../../src/core/run.js';
import { MemoryLog } from '../../support/memory-log.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';

/** The post step with only the connection inputs set: no client, no stack file, no other setting. */
async function post(saved: string) {
  const log = new MemoryLog();
  const state = memoryState();
  state.save(LOCK_STATE, saved);
  const runner = new ScriptedRunner().on(['docker', 'config', 'rm', 'cfg-lock-1'], () => ({ stdout: 'cfg-lock-1\n' }));
  let opened = 0;
  const result = await runPost(
    {
      inputs: new Inputs(mapInputs({ host: 'local' })),
      log,
      hooks: { setOutput: () => undefined, setFailed: () => undefined, state },
    },
    () => {
      opened += 1;
      return runner;
    },
  );
  return { result, log, runner, opened };
}

describe('the swarm-deploy post step', () => {
  it('releases the lock the main step saved, reading no setting but the connection', async () => {
    const { result, log, runner } = await post(JSON.stringify({ id: 'cfg-lock-1', name: 'sdl.shop' }));
    expect(result.failure).toBeUndefined();
    expect(runner.commands()).toEqual(['docker config rm cfg-lock-1']);
    expect(log.lines).toContain('The deploy step did not finish: releasing sdl.shop');
  });

  it('opens no connection when the main step finished', async () => {
    const { result, opened, log } = await post('');
    expect(result.failure).toBeUndefined();
    expect(opened).toBe(0);
    expect(log.lines).toEqual([]);
  });
});
