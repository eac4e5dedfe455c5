import { describe, expect, test } from 'vitest';
import {
  postStepRuns,
  readActionMetadata,
  renderInputs,
  runActionStep,
  runActionWithPost,
} from '../../../lab/runner/action-host.js';

// A fixture action run as a real step: its own Node 24 process, files and commands as on GitHub.
const PROBE = 'test/fixtures/actions/step-probe';

describe('rendering inputs as the runner does', () => {
  const metadata = readActionMetadata(PROBE);

  test.each([
    [
      'every declared input is present: its default, or an empty string',
      {},
      {
        INPUT_GREETING: 'hello',
        'INPUT_EMPTY-DEFAULT': '',
        'INPUT_NO-DEFAULT': '',
        INPUT_SPACED_NAME: 'spaced',
        INPUT_MODE: 'ok',
      },
      [],
    ],
    [
      'with: values win; names compare case-insensitively',
      { GREETING: 'hi', 'no-default': 'given' },
      {
        INPUT_GREETING: 'hi',
        'INPUT_EMPTY-DEFAULT': '',
        'INPUT_NO-DEFAULT': 'given',
        INPUT_SPACED_NAME: 'spaced',
        INPUT_MODE: 'ok',
      },
      [],
    ],
    [
      'an undeclared with: key is passed, with the runner warning',
      { extra: 'x' },
      {
        INPUT_EXTRA: 'x',
        INPUT_GREETING: 'hello',
        'INPUT_EMPTY-DEFAULT': '',
        'INPUT_NO-DEFAULT': '',
        INPUT_SPACED_NAME: 'spaced',
        INPUT_MODE: 'ok',
      },
      [
        "Unexpected input(s) 'extra', valid inputs are ['greeting', 'empty-default', 'no-default', 'Spaced Name', 'mode']",
      ],
    ],
  ])('%s', (_name, given, env, warnings) => {
    const rendered = renderInputs(metadata, given);
    expect(rendered.env).toEqual(env);
    expect(rendered.warnings).toEqual(warnings);
  });

  test('defaults are the text of action.yml, never YAML-typed (0 stays "0", true stays "true")', () => {
    const verifyHealth = readActionMetadata('actions/verify-health');
    expect(verifyHealth.inputs.consecutive?.default).toBe('3');
    expect(readActionMetadata('actions/ecr-push').inputs['create-repository']?.default).toBe('true');
    expect(readActionMetadata('.').runs).toEqual({
      using: 'node24',
      main: 'dist/swarm-deploy/index.js',
      post: 'dist/swarm-deploy-post/index.js',
      postIf: 'always()',
    });
  });
});

describe('a step in its own Node 24 process', () => {
  test('inputs, GITHUB_* variables and files, commands from stderr too, and the post step with STATE_*', async () => {
    const { main, post } = await runActionWithPost({
      action: PROBE,
      with: { 'no-default': 'given' },
      github: { sha: 'a'.repeat(40), eventName: 'workflow_dispatch', event: { inputs: { x: '1' } } },
    });
    expect(main.outcome).toBe('success');
    expect(main.node).toMatch(/node/);
    const shown = main.log.join('\n');
    expect(shown).toContain(
      'inputs {"INPUT_EMPTY-DEFAULT":"","INPUT_GREETING":"hello","INPUT_MODE":"ok","INPUT_NO-DEFAULT":"given","INPUT_SPACED_NAME":"spaced"}',
    );
    expect(shown).toMatch(/^node (24|20) cwd /m);
    expect(shown).toContain(`ci true actions true sha ${'a'.repeat(40)} event workflow_dispatch`);
    expect(shown).toContain('event {"inputs":{"x":"1"}}');
    expect(main.outputs).toEqual({ plain: '1', multi: 'line a\nline b' });
    expect(main.state).toEqual({ started: 'ok' });
    expect(main.env).toEqual({ FROM_STEP: 'yes' });
    expect(main.path).toEqual(['/opt/step-probe/bin']);
    expect(main.summary).toBe('### step-probe\n');
    expect(main.annotations).toEqual([{ level: 'warning', message: 'from stderr', file: 'action.yml', line: 2 }]);
    expect(post?.outcome).toBe('success');
    expect(post?.log).toEqual(['post state ok greeting hello']);
  });

  test('a value printed before its ::add-mask:: is a leak; after it, masked', async () => {
    const result = await runActionStep({ action: PROBE, with: { mode: 'leak' } });
    expect(result.log).toContain('token is tok-LEAKED-1');
    expect(result.log).toContain('again ***');
    expect(result.leaks).toEqual(['tok-LEAKED-1']);
  });

  test('secrets are masked from the first line', async () => {
    const result = await runActionStep({ action: PROBE, with: { mode: 'leak' }, secrets: ['tok-LEAKED-1'] });
    expect(result.log).toContain('token is ***');
    expect(result.leaks).toEqual([]);
  });

  test.each([
    ['fail', 1],
    ['crash', 1],
  ])('mode %s fails the step with exit code %d', async (mode, code) => {
    const result = await runActionStep({ action: PROBE, with: { mode } });
    expect(result.outcome).toBe('failure');
    expect(result.exitCode).toBe(code);
  });

  test('cancel sends SIGINT: the step is cancelled, and the post step still runs with the saved state', async () => {
    const controller = new AbortController();
    const { main, post } = await runActionWithPost({
      action: PROBE,
      with: { mode: 'wait' },
      signal: controller.signal,
      onLine: (line) => {
        if (line === 'waiting') controller.abort();
      },
    });
    expect(main.outcome).toBe('cancelled');
    expect(main.log).toContain('got SIGINT');
    expect(post?.log).toEqual(['post state wait greeting hello']);
  });

  test('a vanished runner: SIGKILL at once, no SIGINT handler runs, no exit code', async () => {
    const vanish = new AbortController();
    const result = await runActionStep({
      action: PROBE,
      with: { mode: 'wait' },
      kill: vanish.signal,
      onLine: (line) => {
        if (line === 'waiting') vanish.abort();
      },
    });
    expect(result.outcome).toBe('cancelled');
    expect(result.exitCode).toBeNull();
    expect(result.log).not.toContain('got SIGINT');
  });

  test('a step past its timeout is stopped and fails', async () => {
    const result = await runActionStep({ action: PROBE, with: { mode: 'wait' }, timeoutMs: 1500 });
    expect(result.timedOut).toBe(true);
    expect(result.outcome).toBe('failure');
  });
});

describe('post-if', () => {
  test.each([
    [undefined, 'success', true],
    [undefined, 'failure', false],
    ['always()', 'cancelled', true],
    ['${{ always() }}', 'failure', true],
    ['failure()', 'failure', true],
    ['failure()', 'success', false],
    ['cancelled()', 'cancelled', true],
    ['!cancelled()', 'cancelled', false],
  ] as const)('post-if %j after %s: runs %s', (postIf, outcome, runs) => {
    expect(postStepRuns(postIf, outcome)).toBe(runs);
  });
});
