import { describe, expect, it } from 'vitest';
import { formatClientStatus, formatOverview } from '../../../src/cli/status.js';
import {
  buildClientStatus,
  imageVersion,
  overviewConfigs,
  parseConfigList,
  parseServiceList,
  readClusterOverview,
} from '../../../src/views/overview.js';
import { configInspect, NOW, release, runCli, ScriptedRunner, service, task } from '../../support/cli.js';

const shopWeb = service('shop_web', { replicas: 2 });
const shopWorker = service('shop_worker', {
  replicas: 1,
  image: 'reg.example.com/shop/worker@sha256:' + 'c'.repeat(64),
});
const blogWeb = service('blog_web', { replicas: 3, image: 'reg.example.com/blog/app:v7', state: 'updating' });

/** A cluster with two clients: shop (2 services, a held lock) and blog (mid-update). */
function clusterRunner(): ScriptedRunner {
  return new ScriptedRunner()
    .on(['docker', 'service', 'ls'], () => ({
      stdout: 'shop_web\t2/2\nshop_worker\t1/1\nblog_web\t1/3\n',
    }))
    .on(['docker', 'service', 'inspect'], () => ({ stdout: JSON.stringify([shopWeb, shopWorker, blogWeb]) }))
    .on(['docker', 'config', 'ls'], () => ({
      stdout: [
        'sdr.shop.20261123-030000-aaa\tshop\trelease',
        'sdr.shop.20261123-034512-a1b\tshop\trelease',
        'sdr.blog.20261122-120000-bbb\tblog\trelease',
        'sdl.shop\tshop\tlock',
        'sdr.gone.20261101-000000-ccc\tgone\trelease',
      ].join('\n'),
    }))
    .on(['docker', 'config', 'inspect'], (argv) => {
      // Only each client's newest release and its lock are read.
      expect(argv.slice(3)).toEqual(['sdl.shop', 'sdr.blog.20261122-120000-bbb', 'sdr.shop.20261123-034512-a1b']);
      return {
        stdout: configInspect([
          { name: 'sdl.shop', data: { client: 'shop', kind: 'maintenance', actor: 'oncall', since: NOW - 60_000 } },
          {
            name: 'sdr.blog.20261122-120000-bbb',
            data: release('blog', '20261122-120000-bbb', { verdict: 'rolled-back' }),
          },
          { name: 'sdr.shop.20261123-034512-a1b', data: release('shop', '20261123-034512-a1b', { kind: 'scale' }) },
        ]),
      };
    });
}

describe('reading the cluster overview', () => {
  it('takes four commands whatever the number of clients and puts one row per client', async () => {
    const runner = clusterRunner();
    const rows = await readClusterOverview(runner);
    expect(runner.calls).toHaveLength(4);
    expect(rows.map((r) => r.client)).toEqual(['blog', 'shop']);
    expect(rows[1]).toMatchObject({
      client: 'shop',
      versions: ['v1', 'c'.repeat(12)],
      services: 2,
      running: 3,
      desired: 3,
      release: { id: '20261123-034512-a1b', kind: 'scale', verdict: 'deployed' },
      lock: { kind: 'maintenance', actor: 'oncall' },
    });
    expect(rows[1]?.release).not.toHaveProperty('stack');
    expect(rows[0]).toMatchObject({
      running: 1,
      desired: 3,
      updateStates: ['updating'],
      release: { verdict: 'rolled-back' },
    });
  });

  it('asks nothing more when no client runs', async () => {
    const runner = new ScriptedRunner().on(['docker', 'service', 'ls'], () => ({ stdout: '' }));
    expect(await readClusterOverview(runner)).toEqual([]);
    expect(runner.calls).toHaveLength(1);
  });

  it.each([
    ['2/3', { running: 2, desired: 3 }],
    ['1/1 (max 1 per node)', { running: 1, desired: 1 }],
    ['garbage', { running: 0, desired: 0 }],
  ])('reads the replicas column %j', (column, expected) => {
    expect(parseServiceList(`svc\t${column}`).get('svc')).toEqual(expected);
  });

  it('ignores configs of other clients and malformed list lines', () => {
    const entries = parseConfigList('sdr.a.20260101-000000-abc\ta\trelease\nbroken line\nsdl.b\tb\tlock\n');
    expect(entries).toHaveLength(2);
    expect(overviewConfigs(entries, new Set(['a']))).toEqual(['sdr.a.20260101-000000-abc']);
  });

  it.each([
    ['reg.example.com:5000/shop/app:v1.2@sha256:' + 'a'.repeat(64), 'v1.2'],
    ['reg.example.com:5000/shop/app@sha256:' + 'b'.repeat(64), 'b'.repeat(12)],
    ['reg.example.com:5000/shop/app', 'latest'],
    ['app:3', '3'],
  ])('names the version of %s as %s', (image, version) => {
    expect(imageVersion(image)).toBe(version);
  });
});

describe('formatting status', () => {
  it('prints one aligned row per client', async () => {
    const text = formatOverview(await readClusterOverview(clusterRunner()));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^CLIENT\s+VERSION\s+REPLICAS\s+LAST RELEASE\s+KIND\s+VERDICT\s+UPDATE\s+LOCK$/);
    expect(lines[1]).toMatch(/^blog\s+v7\s+1\/3\s+20261122-120000-bbb\s+deploy\s+rolled-back\s+updating\s+-$/);
    expect(lines[2]).toMatch(/^shop\s+v1, c{12}\s+3\/3\s+20261123-034512-a1b\s+scale\s+deployed\s+-\s+held$/);
    // Columns line up: every row starts its REPLICAS cell at the same offset.
    const at = lines[0]?.indexOf('REPLICAS');
    expect(lines[1]?.indexOf('1/3')).toBe(at);
    expect(lines[2]?.indexOf('3/3')).toBe(at);
  });

  it('says so when no client runs', () => {
    expect(formatOverview([])).toBe('No client stacks on the cluster.');
  });

  it('shows one client with its services, current tasks and recent failures, sanitising cluster text', () => {
    const web = service('shop_web', { replicas: 2, id: 'svc1' });
    const status = buildClientStatus(
      'shop',
      [web],
      [
        task('t2', 'svc1', 2, 'running'),
        task('t1', 'svc1', 1, 'running'),
        task('t0', 'svc1', 1, 'failed', 'shutdown', { Err: 'task: non-zero exit (3)\u001b[31m' }),
        task('told', 'svc1', 1, 'shutdown', 'shutdown'),
      ],
      release('shop', '20261123-034512-a1b', { actor: 'evil\nforged line' }),
      undefined,
    );
    expect(status.tasks.map((t) => t.name)).toEqual(['shop_web.1', 'shop_web.2', 'shop_web.1']);
    expect(status.services[0]).toMatchObject({ running: 2, desired: 2, version: 'v1' });
    const text = formatClientStatus(status, NOW);
    expect(text).toContain(
      'shop: release 20261123-034512-a1b (deploy, deployed) at 2026-11-23 03:45:12Z, by evil forged line',
    );
    expect(text).toContain('lock: none');
    expect(text).toMatch(
      /shop_web\.1\s+t0\s+failed\s+shutdown\s+2026-11-23 03:51:00Z\s+v2\s+task: non-zero exit \(3\) \[31m/,
    );
    // eslint-disable-next-line no-control-regex -- the assertion is that none survive
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });
});

describe('swarm-deploy status', () => {
  it('prints JSON only on stdout with --json and opens one connection', async () => {
    const { code, io, opened } = await runCli(['status', '--host', 'local', '--json'], clusterRunner());
    expect(code).toBe(0);
    expect(opened).toBe(1);
    expect(io.stdout).toHaveLength(1);
    const parsed = JSON.parse(io.stdout[0] ?? '') as { clients: { client: string }[] };
    expect(parsed.clients.map((c) => c.client)).toEqual(['blog', 'shop']);
  });

  it('shows one client from its services, tasks, history and lock', async () => {
    const web = service('shop_web', { replicas: 1, id: 'svc1' });
    const runner = new ScriptedRunner()
      .on(['docker', 'service', 'ls'], () => ({ stdout: 'shop_web\n' }))
      .on(['docker', 'service', 'inspect'], () => ({ stdout: JSON.stringify([web]) }))
      .on(['docker', 'service', 'ps'], () => ({ stdout: 't1\n' }))
      .on(['docker', 'inspect', '--type', 'task'], () => ({
        stdout: JSON.stringify([task('t1', 'svc1', 1, 'running')]),
      }))
      .on(['docker', 'config', 'ls'], () => ({ stdout: 'sdr.shop.20261123-034512-a1b\n' }))
      .on(['docker', 'config', 'inspect', 'sdr.shop.20261123-034512-a1b'], () => ({
        stdout: configInspect([{ name: 'sdr.shop.20261123-034512-a1b', data: release('shop', '20261123-034512-a1b') }]),
      }))
      .on(['docker', 'config', 'inspect', 'sdl.shop'], () => ({ code: 1, stderr: 'no such config' }));
    const { code, io } = await runCli(['status', 'shop', '--host', 'local'], runner);
    expect(code).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/shop_web\s+v1\s+1\/1/);
    expect(io.stdout.join('\n')).toMatch(/shop_web\.1\s+t1\s+running/);
  });

  it.each([
    [['status', 'Bad_Client', '--host', 'local'], /<client>: the client name "Bad_Client"/],
    [['status'], /--host \(or SWARM_DEPLOY_HOST\): is required/],
    [['status', '--host', 'm1.example.com'], /--ssh-key \(or SWARM_DEPLOY_SSH_KEY_FILE\): is required/],
    [['status', '--host', 'a;b'], /--host \(or SWARM_DEPLOY_HOST\): "a;b" is not a host name/],
    [['status', 'a', 'b', '--host', 'local'], /unexpected argument "b"/],
    [['status', '--bogus'], /Unknown option '--bogus'/],
  ])('refuses %j with exit 2 before running anything', async (argv, message) => {
    const runner = new ScriptedRunner();
    const { code, io, opened } = await runCli(argv, runner);
    expect(code).toBe(2);
    expect(opened).toBe(0);
    expect(runner.calls).toEqual([]);
    expect(io.stderr.join('\n')).toMatch(message);
    expect(io.stdout).toEqual([]);
  });

  it('takes the connection from the environment', async () => {
    const { code } = await runCli(['status', '--json'], clusterRunner(), { env: { SWARM_DEPLOY_HOST: 'local' } });
    expect(code).toBe(0);
  });

  it('fails with exit 1 when the cluster cannot be read', async () => {
    const runner = new ScriptedRunner().on(['docker', 'service', 'ls'], () => ({
      code: 1,
      stderr: 'Cannot connect to the Docker daemon',
    }));
    const { code, io } = await runCli(['status', '--host', 'local'], runner);
    expect(code).toBe(1);
    expect(io.stderr.join('\n')).toMatch(/Cannot connect to the Docker daemon/);
  });
});
