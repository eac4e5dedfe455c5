import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runActionStep } from '../../lab/runner/action-host.js';

// The committed bundles are what GitHub runs: each must load under Node 24 and reach its own input
// checks without a module-level error (an ES-module bundle lacks CommonJS globals such as
// __dirname). They run as the runner runs them: every action.yml default applied.
const CRASH = /ReferenceError|TypeError|SyntaxError|Unhandled|ERR_/;

describe('committed bundles', () => {
  it.each([
    ['.', { client: 'x' }, /^Configuration error: Input "client"/],
    ['actions/swarm-deploy', { client: 'acme', host: '127.0.0.1' }, /^Configuration error: Input "ssh-key"/],
    ['actions/build-and-tag', {}, /^Configuration error: Input "name"/],
    ['actions/ecr-push', {}, /^Configuration error: Input "source"/],
    ['actions/verify-health', {}, /^Configuration error: Input "url"/],
  ])('%s loads and stops at its input checks (%j)', async (action, given, message) => {
    const result = await runActionStep({ action, with: given });
    expect(result.annotations.map((a) => a.message)).toEqual([expect.stringMatching(message)]);
    expect(result.log.join('\n')).not.toMatch(CRASH);
    expect(result.exitCode).toBe(1);
    expect(result.outcome).toBe('failure');
  });

  it('notify-discord without a webhook warns and succeeds (a notification never fails a deploy by default)', async () => {
    const result = await runActionStep({ action: 'actions/notify-discord', with: { status: 'success' } });
    expect(result.annotations).toEqual([{ level: 'warning', message: expect.stringMatching(/No webhook-url/) }]);
    expect(result.log.join('\n')).not.toMatch(CRASH);
    expect(result.outcome).toBe('success');
  });

  it('the post step with no lock in its state does nothing and opens no connection', async () => {
    const result = await runActionStep({ action: '.', phase: 'post', with: { client: 'acme', host: '127.0.0.1' } });
    expect(result.log).toEqual([]);
    expect(result.annotations).toEqual([]);
    expect(result.outcome).toBe('success');
  });

  it('the CLI bundle prints its commands', () => {
    const result = spawnSync(process.execPath, ['dist/cli/index.js', '--help'], {
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const out = `${result.stdout}${result.stderr}`;
    expect(out).toMatch(/Commands:[\s\S]*status[\s\S]*rollback/);
    expect(out).not.toMatch(CRASH);
    expect(result.status).toBe(0);
  });
});
