import * as core from '@actions/core';
import { describe, expect, test } from 'vitest';
import { runActionInProcess } from '../../support/action-harness.js';

// The in-process variant: an entry sees the step's environment (defaults applied) and writes
// through @actions/core; the caller's process is left as it was.
const PROBE = 'test/fixtures/actions/step-probe';

describe('runActionInProcess', () => {
  test('defaults as INPUT_*, outputs, state and summary from their files, failure as the runner reports it', async () => {
    const before = { ...process.env };
    const result = await runActionInProcess({
      action: PROBE,
      with: { 'no-default': 'given' },
      run: async () => {
        core.setSecret('in-process-s3cret');
        core.info(
          `greeting=${core.getInput('greeting')} no-default=${core.getInput('no-default')} mode=${core.getInput('mode')}`,
        );
        core.setOutput('multi', 'a\nb');
        core.saveState('kept', 'yes');
        await core.summary.addRaw('### probe', true).write();
        core.info('value in-process-s3cret');
        core.setFailed('asked to fail');
      },
    });
    expect(result.log).toEqual(['greeting=hello no-default=given mode=ok', 'value ***', '##[error]asked to fail']);
    expect(result.outputs).toEqual({ multi: 'a\nb' });
    expect(result.state).toEqual({ kept: 'yes' });
    expect(result.summary).toBe('### probe\n');
    expect(result.outcome).toBe('failure');
    expect(result.exitCode).toBe(1);
    // The test process keeps its exit code and environment.
    expect(process.exitCode).toBeUndefined();
    expect(process.env).toEqual(before);
  });

  test('a post step reads STATE_*; each step has its own summary file', async () => {
    const result = await runActionInProcess({
      action: PROBE,
      phase: 'post',
      state: { kept: 'yes' },
      run: async () => {
        core.info(`state=${core.getState('kept')}`);
        await core.summary.addRaw('post', true).write();
      },
    });
    expect(result.log).toEqual(['state=yes']);
    expect(result.summary).toBe('post\n');
    expect(result.outcome).toBe('success');
  });

  test('two in-process steps at once are refused (they would share process.env and stdout)', async () => {
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (entered = resolve));
    const first = runActionInProcess({
      action: PROBE,
      run: () =>
        new Promise<void>((resolve) => {
          release = resolve;
          entered();
        }),
    });
    await running;
    await expect(runActionInProcess({ action: PROBE, run: async () => undefined })).rejects.toThrow(/cannot overlap/);
    release();
    expect((await first).outcome).toBe('success');
  });
});
