import { describe, expect, test } from 'vitest';
import { CommandError } from '../../../src/core/errors.js';
import { MemoryLog } from '../../support/memory-log.js';
import { resolveRollbackTarget, type Release } from '../../../src/state/history.js';
import { ensureObjects, pruneObjects } from '../../../src/state/objects.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';
import { Tenant } from '../../../src/core/tenant.js';

const LIST = ['docker', 'secret', 'ls'];
const CREATE = ['docker', 'secret', 'create'];

describe('ensureObjects', () => {
  test('creates only the versions that do not exist, content through stdin, labelled with the client', async () => {
    const runner = new ScriptedRunner()
      .on(LIST, () => ({ stdout: 'acme_api_key_11111111\n' }))
      .on(CREATE, () => ({ stdout: 'id\n' }));
    const log = new MemoryLog();
    const created = await ensureObjects(runner, log, 'secret', Tenant.parse('acme'), [
      { name: 'api_key', versioned: 'acme_api_key_11111111', content: 'one' },
      { name: 'db', versioned: 'acme_db_22222222', content: 's3cret-db' },
    ]);
    expect(created).toStrictEqual(['acme_db_22222222']);
    expect(runner.commands()).toStrictEqual([
      'docker secret ls --filter label=swarm-deploy.client=acme --filter label=swarm-deploy.kind=versioned --format {{.Name}}',
      'docker secret create --label swarm-deploy.client=acme --label swarm-deploy.kind=versioned --label swarm-deploy.name=db acme_db_22222222 -',
    ]);
    expect(runner.calls[1]?.stdin).toBe('s3cret-db');
    expect(log.text()).not.toContain('s3cret-db');
    expect(log.lines).toStrictEqual(['Created secret acme_db_22222222 (new content for "db")']);
  });

  test('a version that appeared since the listing is the same content: nothing created, nothing claimed', async () => {
    const runner = new ScriptedRunner()
      .on(LIST, () => ({ stdout: '' }))
      .on(CREATE, () => ({
        code: 1,
        stderr:
          'Error response from daemon: rpc error: code = AlreadyExists desc = secret acme_db_22222222 already exists',
      }));
    const log = new MemoryLog();
    await expect(
      ensureObjects(runner, log, 'secret', Tenant.parse('acme'), [
        { name: 'db', versioned: 'acme_db_22222222', content: 'x' },
      ]),
    ).resolves.toStrictEqual([]);
    expect(log.lines).toStrictEqual([]);
  });

  test('any other create failure fails with the create command’s own error', async () => {
    const runner = new ScriptedRunner()
      .on(LIST, () => ({ stdout: '' }))
      .on(CREATE, () => ({ code: 1, stderr: 'Error response from daemon: This node is not a swarm manager.' }));
    const error = await ensureObjects(runner, new MemoryLog(), 'secret', Tenant.parse('acme'), [
      { name: 'db', versioned: 'acme_db_22222222', content: 'x' },
    ]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as Error).message).toMatch(/secret create acme_db_22222222 .*not a swarm manager/);
  });
});

describe('pruneObjects', () => {
  test('removes only versions no kept release uses; one still in use (refused by Swarm) stays', async () => {
    const runner = new ScriptedRunner()
      .on(LIST, () => ({ stdout: 'acme_k_1\nacme_k_2\nacme_k_3\nacme_k_4\n' }))
      .on(['docker', 'secret', 'rm', 'acme_k_2'], () => ({
        code: 1,
        stderr: 'secret is in use by the following service',
      }))
      .on(['docker', 'secret', 'rm'], () => ({}));
    const log = new MemoryLog();
    const removed = await pruneObjects(runner, log, 'secret', Tenant.parse('acme'), new Set(['acme_k_1', 'acme_k_4']));
    expect(removed).toStrictEqual(['acme_k_3']);
    expect(runner.commands().filter((c) => c.includes(' rm '))).toStrictEqual([
      'docker secret rm acme_k_2',
      'docker secret rm acme_k_3',
    ]);
    expect(log.lines).toStrictEqual(['Removed 1 secret(s) no retained release uses: acme_k_3']);
  });
});

describe('rollback after a secret rotation', () => {
  const release = (id: string, secret: string, extra: Partial<Release> = {}): Release => ({
    id,
    client: 'acme',
    kind: 'deploy',
    time: '2026-11-01T10:00:00Z',
    verdict: 'deployed',
    images: { acme_web: 'registry.example.com/acme/web@sha256:aaaa' },
    replicas: { acme_web: 1 },
    secrets: { api_key: secret },
    configs: {},
    stack: 'services: {}',
    ...extra,
  });

  test('a release that changed only a secret version is a release to go back to', () => {
    const one = release('20261101-100000-aaa', 'acme_api_key_11111111');
    const two = release('20261102-100000-bbb', 'acme_api_key_22222222');
    expect(resolveRollbackTarget([two, one], 'previous').id).toBe(one.id);
  });

  test('a redeploy of the same images and secrets is skipped, as before', () => {
    const one = release('20261101-100000-aaa', 'acme_api_key_11111111');
    const again = release('20261102-100000-bbb', 'acme_api_key_11111111');
    const two = release('20261103-100000-ccc', 'acme_api_key_22222222');
    expect(() => resolveRollbackTarget([again, one], 'previous')).toThrow(/no earlier deployed release/);
    expect(resolveRollbackTarget([two, again, one], 'previous').id).toBe(again.id);
  });

  test('a changed config version counts too', () => {
    const one = release('20261101-100000-aaa', 's', { configs: { nginx: 'acme_nginx_11111111' } });
    const two = release('20261102-100000-bbb', 's', { configs: { nginx: 'acme_nginx_22222222' } });
    expect(resolveRollbackTarget([two, one], 'previous').id).toBe(one.id);
  });
});
