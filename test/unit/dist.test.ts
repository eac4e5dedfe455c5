import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// The committed bundles are what GitHub runs: each must load and reach its own input checks
// without a module-level error (an ES-module bundle lacks CommonJS globals such as __dirname).
function runBundle(name: string, env: Record<string, string>, args: string[] = []) {
  const result = spawnSync(process.execPath, [`dist/${name}/index.js`, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

const CRASH = /ReferenceError|TypeError|SyntaxError|Unhandled|ERR_/;

describe('committed bundles', () => {
  it.each([
    ['swarm-deploy', { INPUT_CLIENT: 'x' }, /::error::Configuration error: Input "client"/],
    [
      'swarm-deploy',
      { INPUT_CLIENT: 'acme', INPUT_HOST: '127.0.0.1' },
      /::error::Configuration error: Input "ssh-key"/,
    ],
    ['build-and-tag', {}, /::error::Configuration error: Input "name"/],
    ['ecr-push', {}, /::error::Configuration error: Input "source"/],
    ['verify-health', {}, /::error::Configuration error: Input "url"/],
  ])('%s loads and stops at its input checks (%j)', (name, env, message) => {
    const { code, out } = runBundle(name, env);
    expect(out).toMatch(message);
    expect(out).not.toMatch(CRASH);
    expect(code).toBe(1);
  });

  it('notify-discord without a webhook warns and succeeds (a notification never fails a deploy by default)', () => {
    const { code, out } = runBundle('notify-discord', { INPUT_STATUS: 'success' });
    expect(out).toMatch(/::warning::/);
    expect(out).not.toMatch(CRASH);
    expect(code).toBe(0);
  });

  it('the post step with no lock in its state does nothing and opens no connection', () => {
    const { code, out } = runBundle('swarm-deploy-post', { INPUT_CLIENT: 'acme', INPUT_HOST: '127.0.0.1' });
    expect(out).not.toMatch(CRASH);
    expect(out).not.toMatch(/Connected|ssh/i);
    expect(code).toBe(0);
  });

  it('the CLI bundle prints its commands', () => {
    const { code, out } = runBundle('cli', {}, ['--help']);
    expect(out).toMatch(/Commands:[\s\S]*status[\s\S]*rollback/);
    expect(out).not.toMatch(CRASH);
    expect(code).toBe(0);
  });
});
