import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { CommandError } from '../../../src/core/errors.js';
import { MemoryLog } from '../../support/memory-log.js';
import { DockerRegistrySession, isRetryablePushError, pushedDigest } from '../../../src/registry/docker-login.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('pushedDigest', () => {
  test.each<[string, string | undefined]>([
    [`The push refers to repository [r/app]\nabc: Pushed\nv1: digest: ${DIGEST} size: 527\n`, DIGEST],
    [`v1: digest: sha256:${'b'.repeat(64)} size: 1\nv1: digest: ${DIGEST} size: 2`, DIGEST],
    ['Layer already exists\n', undefined],
    ['digest: sha256:short', undefined],
  ])('%j → %s', (output, digest) => {
    expect(pushedDigest(output)).toBe(digest);
  });
});

describe('isRetryablePushError', () => {
  test.each<[string, boolean]>([
    ['received unexpected HTTP status: 500 Internal Server Error', true],
    ['received unexpected HTTP status: 503 Service Unavailable', true],
    ['toomanyrequests: Rate exceeded', true],
    ['error parsing HTTP 429 response body', true],
    ['denied: User is not authorized to perform ecr:PutImage', false],
    ['tag invalid: The image tag already exists and cannot be overwritten because the repository is immutable.', false],
    ['no basic auth credentials', false],
  ])('%s → %s', (stderr, retryable) => {
    expect(isRetryablePushError(new CommandError('docker push', 1, stderr))).toBe(retryable);
  });

  test('only command errors count', () => {
    expect(isRetryablePushError(new Error('503'))).toBe(false);
  });
});

describe('DockerRegistrySession', () => {
  test('uses its own config directory for every command and removes it', async () => {
    const runner = new ScriptedRunner()
      .on(['docker', '--config', 'login'], () => ({}))
      .on(['docker', '--config', 'push'], () => ({ stdout: 'pushing\n\nr/app:v1: digest: ' + DIGEST + ' size: 9\n' }));
    const session = await DockerRegistrySession.open(runner);
    expect(existsSync(session.configDir)).toBe(true);
    await session.login('registry.example:5000', 'AWS', 's3cret-password');
    const log = new MemoryLog();
    await expect(session.push('r/app:v1', log)).resolves.toBe(DIGEST);
    expect(log.lines).toEqual(['pushing', `r/app:v1: digest: ${DIGEST} size: 9`]);
    expect(runner.calls.map((c) => c.argv.slice(0, 3))).toEqual([
      ['docker', '--config', session.configDir],
      ['docker', '--config', session.configDir],
    ]);
    expect(runner.calls[0]?.stdin).toBe('s3cret-password');
    expect(runner.calls[0]?.argv).not.toContain('s3cret-password');
    await session.dispose();
    expect(existsSync(session.configDir)).toBe(false);
  });

  test('falls back to the repo digest docker recorded when the push prints none', async () => {
    const runner = new ScriptedRunner()
      .on(['docker', '--config', 'push'], () => ({ stdout: 'done\n' }))
      .on(['docker', 'image', 'inspect'], () => ({
        stdout: JSON.stringify({
          Id: 'sha256:1',
          RepoDigests: [`other/app@sha256:${'c'.repeat(64)}`, `r/app@${DIGEST}`],
        }),
      }));
    const session = await DockerRegistrySession.open(runner);
    try {
      await expect(session.push('r/app:v1', new MemoryLog())).resolves.toBe(DIGEST);
    } finally {
      await session.dispose();
    }
  });
});
