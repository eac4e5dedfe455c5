import { describe, expect, test } from 'vitest';
import { readDeploySettings } from '../../../src/rollout/settings.js';
import { Inputs, mapInputs } from '../../../src/core/inputs.js';
import { MemoryLog } from '../../support/memory-log.js';
import { prepareStack, runDeploy } from '../../../src/rollout/deploy.js';
import type { DeployRequest } from '../../../src/rollout/request.js';
import type { ServiceInfo } from '../../../src/state/docker.js';
import { LockError } from '../../../src/state/lock.js';
import { FINGERPRINT_LABEL, stackFingerprint } from '../../../src/compose/fingerprint.js';
import { scratch, writeFile } from '../../support/cli.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';
import { service } from '../../support/swarm-fixtures.js';

const PINNED = `registry.example.com/shop/web:v2@sha256:${'b'.repeat(64)}`;

function request(image = PINNED): DeployRequest {
  const dir = scratch();
  writeFile(dir, 'stack.yml', 'services:\n  web:\n    image: ${IMAGE}\n    deploy:\n      replicas: 2\n');
  const inputs = new Inputs(
    mapInputs({ host: 'local', client: 'shop', 'stack-file': 'stack.yml', image, 'keep-releases': '3' }),
    () => undefined,
  );
  const { request } = readDeploySettings(inputs, { GITHUB_WORKSPACE: dir });
  if (request.kind !== 'deploy') throw new Error('expected a deploy request');
  return request;
}

/** The service as the last deploy of this very stack left it. */
function running(req: DeployRequest, shape: Parameters<typeof service>[1] = {}): ServiceInfo {
  const yaml = prepareStack(req, { id: 'earlier', time: 'earlier' }).rendered.yaml;
  return service('shop_web', {
    image: PINNED,
    replicas: 2,
    labels: { [FINGERPRINT_LABEL]: stackFingerprint(yaml), 'swarm-deploy.release': '20261123-034512-a1b' },
    ...shape,
  });
}

const NO_LOCK = () => ({ code: 1, stderr: 'Error: no such config: sdl.shop' });

describe('runDeploy: a redeploy of what already runs', () => {
  test('is answered from one read of the services and the lock: nothing is created, removed or deployed', async () => {
    const req = request();
    const runner = new ScriptedRunner()
      .on(['docker', 'service', 'inspect', 'shop_web'], () => ({ stdout: JSON.stringify([running(req)]) }))
      .on(['docker', 'config', 'inspect', 'sdl.shop'], NO_LOCK);
    const result = await runDeploy({ runner, log: new MemoryLog() }, req);
    expect(result).toMatchObject({
      status: 'deployed',
      unchanged: true,
      reason: 'unchanged',
      release: '20261123-034512-a1b',
      image: PINNED,
    });
    expect(runner.commands()).toEqual(['docker service inspect shop_web', 'docker config inspect sdl.shop']);
  });

  test.each([
    ['another image runs', { image: `registry.example.com/shop/web:v1@sha256:${'a'.repeat(64)}` }],
    ['an update is in progress', { update: { state: 'updating' } }],
    ['the stack runs with another render', { labels: {} }],
  ])('takes the full path when %s (the lock comes next)', async (_label, shape) => {
    const req = request();
    const runner = new ScriptedRunner()
      .on(['docker', 'service', 'inspect', 'shop_web'], () => ({ stdout: JSON.stringify([running(req, shape)]) }))
      .on(['docker', 'config', 'inspect', 'sdl.shop'], NO_LOCK)
      .on(['docker', 'config', 'create'], () => {
        throw new Error('lock taken: the full path started');
      });
    await expect(runDeploy({ runner, log: new MemoryLog() }, req)).rejects.toThrow('the full path started');
  });

  test('never answers while the lock is held: a maintenance hold fails the deploy as any deploy', async () => {
    const req = request();
    const hold = JSON.stringify([
      {
        ID: 'lock1',
        CreatedAt: '2026-11-23T03:00:00Z',
        Spec: {
          Name: 'sdl.shop',
          Data: Buffer.from(JSON.stringify({ client: 'shop', kind: 'maintenance', since: 0, actor: 'ops' })).toString(
            'base64',
          ),
        },
      },
    ]);
    const runner = new ScriptedRunner()
      .on(['docker', 'service', 'inspect', 'shop_web'], () => ({ stdout: JSON.stringify([running(req)]) }))
      .on(['docker', 'config', 'inspect', 'sdl.shop'], () => ({ stdout: hold }))
      .on(['docker', 'config', 'create'], () => ({
        code: 1,
        stderr: 'Error response from daemon: config name conflicts',
      }))
      .on(['date'], () => ({ stdout: '1795000000.000000000\n' }));
    await expect(runDeploy({ runner, log: new MemoryLog() }, req)).rejects.toThrow(LockError);
  });

  test('an image given by tag is never answered without Docker: no read, straight to the lock', async () => {
    const req = request('registry.example.com/shop/web:v2');
    const runner = new ScriptedRunner().on(['docker', 'config', 'create'], () => {
      throw new Error('lock taken: the full path started');
    });
    await expect(runDeploy({ runner, log: new MemoryLog() }, req)).rejects.toThrow('the full path started');
    // The lock, and the manager's clock read beside it: nothing of Docker is read first.
    const docker = runner.commands().filter((command) => command.startsWith('docker '));
    expect(docker).toHaveLength(1);
    expect(docker[0]).toMatch(/^docker config create /);
  });

  test('a change found with the lock free and the lock taken at the first try: the services are read once', async () => {
    const req = request();
    const other = { image: `registry.example.com/shop/web:v1@sha256:${'a'.repeat(64)}` };
    const runner = new ScriptedRunner()
      .on(['docker', 'service', 'inspect', 'shop_web'], () => ({ stdout: JSON.stringify([running(req, other)]) }))
      .on(['docker', 'config', 'inspect', 'sdl.shop'], NO_LOCK)
      .on(['docker', 'config', 'create', 'sdl.shop'], () => ({ stdout: 'lock-mine\n' }))
      .on(['docker', 'config', 'ls'], () => ({ stdout: '' }))
      .on(['date'], () => ({ stdout: '1795000000.000000000\n' }))
      .on(['docker', 'stack', 'deploy'], () => {
        throw new Error('the stack deploy was sent');
      });
    await expect(runDeploy({ runner, log: new MemoryLog() }, req)).rejects.toThrow('the stack deploy was sent');
    expect(runner.commands().filter((c) => c === 'docker service inspect shop_web')).toHaveLength(1);
  });

  test('a lock taken after waiting for another deploy: the services are read again under it', async () => {
    const req = request();
    const other = { image: `registry.example.com/shop/web:v1@sha256:${'a'.repeat(64)}` };
    let creates = 0;
    const runner = new ScriptedRunner()
      .on(['docker', 'service', 'inspect', 'shop_web'], () => ({ stdout: JSON.stringify([running(req, other)]) }))
      // Free at the first read; another deploy takes it just before this one asks, then lets go.
      .on(['docker', 'config', 'inspect', 'sdl.shop'], NO_LOCK)
      .on(['docker', 'config', 'create', 'sdl.shop'], () => {
        creates += 1;
        return creates === 1
          ? { code: 1, stderr: 'Error response from daemon: config name conflicts' }
          : { stdout: 'lock-mine\n' };
      })
      .on(['docker', 'config', 'ls'], () => ({ stdout: '' }))
      .on(['date'], () => ({ stdout: '1795000000.000000000\n' }))
      .on(['docker', 'stack', 'deploy'], () => {
        throw new Error('the stack deploy was sent');
      });
    await expect(runDeploy({ runner, log: new MemoryLog() }, req)).rejects.toThrow('the stack deploy was sent');
    expect(creates).toBe(2);
    expect(runner.commands().filter((c) => c === 'docker service inspect shop_web')).toHaveLength(2);
  });
});
