import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppImage } from '../../lab/lab.js';
import { readHistory } from '../../src/state/history.js';
import { LocalRunner } from '../../src/core/exec.js';
import {
  clientName,
  deployStep,
  docker,
  lab,
  removeClient,
  servedVersion,
  sshInputs,
  startLoad,
  startRouter,
  writeStack,
} from './support.js';

// One client's story, in order: first deploy, a rolling update under load, three bad releases that
// must each end rolled back with the previous version serving throughout, then manual rollbacks.
const client = clientName('deploy');
const run = Date.now().toString(36);
const v1 = buildAppImage(lab, { version: `v1-${run}` });
const v2 = buildAppImage(lab, { version: `v2-${run}` });
const crash = buildAppImage(lab, { version: `crash-${run}`, mode: 'crash' });
const unhealthy = buildAppImage(lab, { version: `sick-${run}`, mode: 'unhealthy' });
const missing = `${lab.registry}/lab/app:missing-${run}`;

const stack = writeStack(
  client,
  `services:
  web:
    image: \${IMAGE}
    environment:
      GREETING: \${GREETING:-hello}
    deploy:
      replicas: 2
      update_config:
        monitor: 4s
      rollback_config:
        monitor: 4s
`,
);

function inputs(extra: Record<string, string>): Record<string, string> {
  return { ...sshInputs(), client, 'stack-file': stack, timeout: '3m', 'stuck-timeout': '30s', ...extra };
}

let router: { url: string; name: string };

beforeAll(async () => {
  const first = await deployStep(inputs({ image: v1, 'git-sha': 'aaaaaaa1111111' }));
  expect(first.failure).toBeUndefined();
  router = await startRouter(client, 'web');
}, 240_000);

afterAll(async () => {
  await removeClient(client);
}, 120_000);

describe('swarm-deploy against the lab swarm', () => {
  it('recorded the first deploy as a release with the exact digest', async () => {
    const history = await readHistory(new LocalRunner(), client);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ verdict: 'deployed', gitSha: 'aaaaaaa1111111', kind: 'deploy' });
    expect(history[0]?.images[`${client}_web`]).toMatch(
      new RegExp(`^${v1.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}@sha256:[0-9a-f]{64}$`),
    );
    expect(await servedVersion(router.url)).toBe(`v1-${run}`);
    // The client's own network exists, attachable, and the service joined it.
    expect(await docker('network', 'inspect', '--format', '{{.Attachable}} {{.Driver}}', `${client}-net`)).toBe(
      'true overlay',
    );
  });

  it('rolls out a new version under load with zero failed requests', async () => {
    const load = startLoad(router.url);
    const result = await deployStep(inputs({ image: v2, 'git-sha': 'bbbbbbb2222222' }));
    const report = await load.stop();
    expect(result.failure).toBeUndefined();
    expect(result.outputs.get('status')).toBe('deployed');
    expect(result.outputs.get('image')).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(result.outputs.get('previous-image')).toContain(`v1-${run}`);
    // The commits of what runs now and of what ran before, as the release history records them.
    expect(result.outputs.get('running-sha')).toBe('bbbbbbb2222222');
    expect(result.outputs.get('previous-sha')).toBe('aaaaaaa1111111');
    const services = JSON.parse(result.outputs.get('services') ?? '[]') as {
      name: string;
      running: number;
      desired: number;
    }[];
    expect(services).toEqual([expect.objectContaining({ name: `${client}_web`, running: 2, desired: 2 })]);
    expect(report.failures).toEqual([]);
    expect(report.requests).toBeGreaterThan(50);
    expect(report.versions.get(`v2-${run}`)).toBeGreaterThan(0);
    expect(await servedVersion(router.url)).toBe(`v2-${run}`);
    expect(result.log.summaries.join('\n')).toMatch(/deployed[\s\S]*\| service \| image/);
  });

  it.each([
    ['a crashing release', crash, /non-zero exit \(3\)/],
    ['an unhealthy release', unhealthy, /unhealthy/i],
    ['a release whose image does not exist', missing, /No such image|manifest unknown|not found|does not exist/i],
  ])(
    'rolls back %s, fails the step, keeps the previous version serving and names the reason',
    async (_label, image, reason) => {
      const load = startLoad(router.url);
      const result = await deployStep(inputs({ image }));
      const report = await load.stop();
      expect(result.failure, result.log.text()).toMatch(/rolled back/);
      expect(result.outputs.get('status')).toBe('rolled-back');
      // What runs after the automatic rollback is the release that ran before: its commit.
      expect(result.outputs.get('running-sha')).toBe('bbbbbbb2222222');
      expect(result.failure).toMatch(/rolled back/);
      expect(result.failure).toMatch(reason);
      expect(report.failures).toEqual([]);
      expect([...report.versions.keys()]).toEqual([`v2-${run}`]);
      const spec = await docker(
        'service',
        'inspect',
        '--format',
        '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.UpdateStatus.State}}',
        `${client}_web`,
      );
      expect(spec).toMatch(new RegExp(`v2-${run}@sha256:[0-9a-f]{64} rollback_completed`));
      expect(result.log.summaries.join('\n')).toMatch(/rolled back[\s\S]*Why/);
    },
  );

  it('rolls back manually to the previous release, then to a named one', async () => {
    const back = await deployStep(inputs({ 'rollback-to': 'previous' }));
    expect(back.failure).toBeUndefined();
    expect(back.outputs.get('status')).toBe('deployed');
    expect(back.outputs.get('running-sha')).toBe('aaaaaaa1111111');
    expect(back.outputs.get('previous-sha')).toBe('bbbbbbb2222222');
    expect(await servedVersion(router.url)).toBe(`v1-${run}`);

    const history = await readHistory(new LocalRunner(), client);
    const v2Release = history.find((r) => r.gitSha === 'bbbbbbb2222222' && r.kind === 'deploy');
    expect(v2Release).toBeDefined();
    const named = await deployStep(inputs({ 'rollback-to': v2Release?.id ?? '' }));
    expect(named.outputs.get('status')).toBe('deployed');
    expect(await servedVersion(router.url)).toBe(`v2-${run}`);
    const latest = (await readHistory(new LocalRunner(), client))[0];
    expect(latest).toMatchObject({ kind: 'rollback', restored: v2Release?.id, verdict: 'deployed' });

    // By git sha too.
    const bySha = await deployStep(inputs({ 'rollback-to': 'aaaaaaa' }));
    expect(bySha.outputs.get('status')).toBe('deployed');
    expect(await servedVersion(router.url)).toBe(`v1-${run}`);
  });

  it('refuses a wrong host key through the action, with nothing changed and the step failed', async () => {
    const before = await docker('service', 'inspect', '--format', '{{.Version.Index}}', `${client}_web`);
    const wrong = `[127.0.0.1]:${lab.ssh.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl`;
    const result = await deployStep(inputs({ image: v2, 'known-hosts': wrong }));
    expect(result.failure).toMatch(/HOST KEY MISMATCH/);
    expect(result.outputs.get('status')).toBe('failed');
    expect(await docker('service', 'inspect', '--format', '{{.Version.Index}}', `${client}_web`)).toBe(before);
  });

  it('dry-run prints the plan and changes nothing', async () => {
    const before = await docker('service', 'inspect', '--format', '{{.Version.Index}}', `${client}_web`);
    // Only this client's objects: other lab tests create their own at the same time.
    const configsBefore = await docker('config', 'ls', '-q', '--filter', `label=swarm-deploy.client=${client}`);
    const result = await deployStep(inputs({ image: v2, 'dry-run': 'true', env: 'GREETING=bonjour' }));
    expect(result.failure).toBeUndefined();
    expect(result.outputs.get('status')).toBe('planned');
    const text = result.log.text();
    expect(text).toMatch(/image: .*v1-.* → .*v2-/);
    expect(text).toMatch(/env: GREETING=hello → GREETING=bonjour/);
    expect(await docker('service', 'inspect', '--format', '{{.Version.Index}}', `${client}_web`)).toBe(before);
    expect(await docker('config', 'ls', '-q', '--filter', `label=swarm-deploy.client=${client}`)).toBe(configsBefore);
  });
});
