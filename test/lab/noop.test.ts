import { afterAll, describe, expect, it } from 'vitest';
import { buildAppImage } from '../../lab/lab.js';
import { readHistory } from '../../src/state/history.js';
import { Tenant } from '../../src/core/tenant.js';
import { LocalRunner } from '../../src/core/exec.js';
import { clientName, deployStep, docker, lab, removeClient, sshInputs, writeStack } from './support.js';

// Redeploys of what already runs (a re-run, a commit that changes no image) must neither cost a
// rollback point nor touch the swarm.
const run = Date.now().toString(36);
const v1 = buildAppImage(lab, { version: `n1-${run}` });
const v2 = buildAppImage(lab, { version: `n2-${run}` });
/** The same images pinned by digest, as ecr-push hands them to the deploy. */
const pinned = async (tag: string) => docker('image', 'inspect', '--format', '{{index .RepoDigests 0}}', tag);

const STACK = `services:
  web:
    image: \${IMAGE}
    deploy:
      replicas: 1
      update_config:
        monitor: 1s
      rollback_config:
        monitor: 1s
`;

const clients: string[] = [];
function newClient(label: string) {
  const client = clientName(label);
  clients.push(client);
  const stack = writeStack(client, STACK);
  const inputs = (extra: Record<string, string>) => ({
    ...sshInputs(),
    client,
    'stack-file': stack,
    timeout: '2m',
    'stuck-timeout': '30s',
    'keep-releases': '2',
    ...extra,
  });
  const history = () => readHistory(new LocalRunner(), client);
  const runningImage = () =>
    docker('service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', `${client}_web`);
  const specVersion = () => docker('service', 'inspect', '--format', '{{.Version.Index}}', `${client}_web`);
  return { client, inputs, history, runningImage, specVersion };
}

afterAll(async () => {
  for (const client of clients) await removeClient(client);
}, 120_000);

describe('redeploying what already runs', () => {
  it('v1, v2, then more no-ops than keep-releases (images by tag): previous still lands on v1', async () => {
    const c = newClient('noop-tag');
    expect((await deployStep(c.inputs({ image: v1, 'git-sha': 'aaaaaaa1' }))).failure).toBeUndefined();
    expect((await deployStep(c.inputs({ image: v2, 'git-sha': 'bbbbbbb2' }))).failure).toBeUndefined();
    const v2Release = (await c.history())[0];
    expect(v2Release?.gitSha).toBe('bbbbbbb2');

    // A tag only Docker can resolve again: the deploy runs, finds nothing changed, and records a
    // repeat of v2 that takes no slot of the two kept.
    for (let i = 0; i < 4; i++) {
      const again = await deployStep(c.inputs({ image: v2, 'git-sha': `ccccccc${i}` }));
      expect(again.failure).toBeUndefined();
      expect(again.outputs.get('status')).toBe('deployed');
      expect(again.log.text()).toContain(`already running as release ${v2Release?.id}`);
    }
    const history = await c.history();
    expect(history.filter((r) => r.repeats !== undefined)).toHaveLength(1);
    expect(history.map((r) => r.gitSha)).toEqual(expect.arrayContaining(['aaaaaaa1', 'bbbbbbb2']));

    const back = await deployStep(c.inputs({ 'rollback-to': 'previous' }));
    expect(back.failure).toBeUndefined();
    expect(back.outputs.get('status')).toBe('deployed');
    expect(await c.runningImage()).toContain(`:n1-${run}@sha256:`);
  });

  it('images by digest: a no-op is answered from one read, writes nothing and changes no spec', async () => {
    const c = newClient('noop-digest');
    const [d1, d2] = [await pinned(v1), await pinned(v2)];
    expect((await deployStep(c.inputs({ image: d1, 'git-sha': 'aaaaaaa1' }))).failure).toBeUndefined();
    const deployed = await deployStep(c.inputs({ image: d2, 'git-sha': 'bbbbbbb2' }));
    expect(deployed.failure).toBeUndefined();
    const release = deployed.outputs.get('release');
    const recorded = (await c.history()).map((r) => r.id);
    const version = await c.specVersion();

    for (let i = 0; i < 3; i++) {
      const again = await deployStep(c.inputs({ image: d2, 'git-sha': `ccccccc${i}` }));
      expect(again.failure).toBeUndefined();
      expect(again.outputs.get('status')).toBe('deployed');
      expect(again.outputs.get('release')).toBe(release);
      expect(again.outputs.get('image')).toBe(d2);
      expect(again.log.text()).not.toMatch(/Took the deploy lock/);
      expect(again.log.summaries.join('\n')).toContain('unchanged');
    }
    expect((await c.history()).map((r) => r.id)).toEqual(recorded);
    expect(await c.specVersion()).toBe(version);

    // A deploy holding the lock is never raced: the no-op waits for it like any deploy.
    const held = await new LocalRunner().run(
      [
        'docker',
        'config',
        'create',
        '--label',
        'swarm-deploy.kind=lock',
        '--label',
        `swarm-deploy.client=${c.client}`,
        Tenant.parse(c.client).lockConfig,
        '-',
      ],
      {
        stdin: JSON.stringify({
          client: c.client,
          kind: 'deploy',
          actor: 'other-run',
          since: Date.now(),
          ttlMs: 600_000,
        }),
        allowFailure: true,
      },
    );
    try {
      const waiting = await deployStep(c.inputs({ image: d2, 'lock-timeout': '2s' }));
      expect(held.code === 0 || /already exists/.test(held.stderr)).toBe(true);
      expect(waiting.failure).toMatch(/deploy lock .* held by a deploy by other-run/);
    } finally {
      await docker('config', 'rm', Tenant.parse(c.client).lockConfig).catch(() => undefined);
    }

    // Rolling back to the release already running changes nothing either.
    const back = await deployStep(c.inputs({ 'rollback-to': 'previous' }));
    expect(back.outputs.get('status')).toBe('deployed');
    expect(await c.runningImage()).toBe(d1);
    const afterBack = (await c.history()).map((r) => r.id);
    const versionBack = await c.specVersion();
    // v1's own record is pruned by now (keep 2): its git sha names the rollback that runs it.
    const same = await deployStep(c.inputs({ 'rollback-to': 'aaaaaaa1' }));
    expect(same.failure).toBeUndefined();
    expect(same.outputs.get('status')).toBe('deployed');
    expect(same.log.text()).toContain(`already runs release ${afterBack[0]} as asked`);
    expect((await c.history()).map((r) => r.id)).toEqual(afterBack);
    expect(await c.specVersion()).toBe(versionBack);
  });
});
