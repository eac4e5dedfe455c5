import { describe, expect, it } from 'vitest';
import { connectionInputs } from '../../../src/cli/connection.js';
import { deployInputValues, formatResult, resultJson, workspacePath } from '../../../src/cli/deploy.js';
import { formatHistory, releaseNote } from '../../../src/cli/history.js';
import { formatTable, formatTime } from '../../../src/cli/table.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import type { DeployResult } from '../../../src/rollout/deploy.js';
import { restoreStack } from '../../../src/rollout/deploy.js';
import { parseScaleTarget, planScale } from '../../../src/rollout/scale.js';
import { FINGERPRINT_LABEL, stackFingerprint } from '../../../src/compose/fingerprint.js';
import { configInspect, release, runCli, scratch, ScriptedRunner, service, writeFile } from '../../support/cli.js';
import { Tenant } from '../../../src/core/tenant.js';
import type { PolicySettings } from '../../../src/compose/policy.js';

const POLICY: PolicySettings = { mode: 'enforce', allowPublishedPorts: false, domains: [] };

function configurationError(fn: () => unknown): ConfigurationError {
  try {
    fn();
  } catch (error: unknown) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('connection flags', () => {
  it('joins repeated hosts, reads the key and known_hosts files, and prefers flags to the environment', () => {
    const dir = scratch();
    writeFile(dir, 'key', 'PRIVATE KEY\n');
    writeFile(dir, 'kh', '[m1]:2222 ssh-ed25519 AAAA\n');
    const inputs = connectionInputs(
      { host: ['m1:2222', 'm2'], 'ssh-key': 'key', 'known-hosts': 'kh' },
      { SWARM_DEPLOY_HOST: 'ignored', SWARM_DEPLOY_USER: 'ops', SWARM_DEPLOY_SSH_KEY_PASSPHRASE: 'pw' },
      dir,
    );
    expect(inputs).toEqual({
      host: 'm1:2222,m2',
      port: undefined,
      user: 'ops',
      'ssh-key': 'PRIVATE KEY\n',
      'ssh-key-passphrase': 'pw',
      'known-hosts': '[m1]:2222 ssh-ed25519 AAAA\n',
    });
  });

  it('reads the files named by the environment', () => {
    const dir = scratch();
    const key = writeFile(dir, 'key', 'K');
    const inputs = connectionInputs(
      {},
      { SWARM_DEPLOY_HOST: 'm1', SWARM_DEPLOY_PORT: '2200', SWARM_DEPLOY_SSH_KEY_FILE: key },
      '/',
    );
    expect(inputs).toMatchObject({ host: 'm1', port: '2200', 'ssh-key': 'K', 'known-hosts': undefined });
  });

  it('names the flag when a file cannot be read', () => {
    expect(configurationError(() => connectionInputs({ 'known-hosts': 'nope' }, {}, scratch())).field).toBe(
      'known-hosts',
    );
  });
});

describe('deploy flags as action inputs', () => {
  it('maps every flag onto the input of the same meaning', () => {
    const cwd = '/repo';
    expect(
      deployInputValues(
        {
          client: 'shop',
          'stack-file': '/repo/deploy/stack.yml',
          image: 'reg/app:v1',
          env: ['A=1', 'B=x=y'],
          config: ['nginx=/repo/nginx.conf', 'other=rel.conf'],
          domain: ['a.example.com', 'b.example.com'],
          'no-auto-rollback': true,
          prune: true,
          timeout: '5m',
        },
        cwd,
        true,
      ),
    ).toMatchObject({
      client: 'shop',
      'stack-file': 'deploy/stack.yml',
      image: 'reg/app:v1',
      env: 'A=1\nB=x=y',
      configs: 'nginx=nginx.conf\nother=rel.conf',
      domain: 'a.example.com,b.example.com',
      'auto-rollback': 'false',
      prune: 'true',
      timeout: '5m',
      'dry-run': 'true',
    });
  });

  it.each([
    ['/repo/a.yml', 'a.yml'],
    ['a.yml', 'a.yml'],
    ['/elsewhere/a.yml', '/elsewhere/a.yml'],
    ['/repo', '/repo'],
  ])('keeps %s as %s relative to the workspace', (path, expected) => {
    expect(workspacePath(path, '/repo')).toBe(expected);
  });
});

describe('swarm-deploy plan and deploy', () => {
  const stack = 'services:\n  web:\n    image: ${IMAGE}\n    environment:\n      TOKEN_FILE: /run/secrets/token\n';

  function planRunner(): ScriptedRunner {
    return new ScriptedRunner()
      .on(['docker', 'service', 'ls'], () => ({ stdout: 'shop_web\n' }))
      .on(['docker', 'service', 'inspect'], () => ({ stdout: JSON.stringify([service('shop_web', { replicas: 1 })]) }))
      .on(['docker', 'config', 'ls'], () => ({ stdout: '' }));
  }

  it('plans from the stack file and a secrets file read from stdin, changing nothing', async () => {
    const dir = scratch();
    writeFile(dir, 'stack.yml', stack);
    const runner = planRunner();
    const { code, io } = await runCli(
      ['plan', '--client', 'shop', '--image', 'reg.example.com/shop/app:v2', '--secrets-file', '-', '--host', 'local'],
      runner,
      { cwd: dir, stdin: 'token=s3cr3t-value\n' },
    );
    expect(io.stderr.join('\n')).not.toContain('s3cr3t-value');
    expect(code).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/~ shop_web\n\s+image: .*app:v1@sha256:a+ → reg.example.com\/shop\/app:v2/);
    expect(io.stdout.join('\n')).toContain('Planned (dry run): nothing was changed');
    // Only reads: no deploy, no config/secret created, and the secret never reached a command.
    expect(runner.commands().every((c) => / (ls|inspect) /.test(` ${c} `))).toBe(true);
    expect(JSON.stringify(runner.calls)).not.toContain('s3cr3t-value');
  });

  it('prints the plan as JSON with --json', async () => {
    const dir = scratch();
    writeFile(dir, 'stack.yml', stack);
    const { code, io } = await runCli(
      ['plan', '--client', 'shop', '--image', 'reg.example.com/shop/app:v2', '--host', 'local', '--json'],
      planRunner(),
      { cwd: dir },
    );
    expect(code).toBe(0);
    const parsed = JSON.parse(io.stdout.join('')) as { status: string; diff: { changed: { service: string }[] } };
    expect(parsed.status).toBe('planned');
    expect(parsed.diff.changed.map((c) => c.service)).toEqual(['shop_web']);
  });

  it.each([
    [['deploy', '--client', 'shop', '--image', 'not an image!', '--host', 'local'], /--image: /],
    [
      ['deploy', '--client', 'shop', '--image', 'app:v1', '--host', 'local', '--stack-file', '../x.yml'],
      /--stack-file: /,
    ],
    [
      ['deploy', '--client', 'shop', '--image', 'app:v1', '--host', 'local', '--timeout', 'soon'],
      /--timeout: expected a duration/,
    ],
    [
      ['deploy', '--client', 'shop', '--image', 'app:v1', '--host', 'local', '--secret', 'a=b'],
      /Unknown option '--secret'/,
    ],
    [['deploy', '--image', 'app:v1', '--host', 'local'], /--client: is required/],
    [
      ['deploy', '--client', 'shop', '--image', 'app:v1', '--host', 'local', '--secrets-file', 'missing.env'],
      /--secrets-file: cannot read/,
    ],
    [['deploy', '--client', 'shop', '--image', 'app:v1', '--host', 'local', '--env', 'lower case=1'], /--env: line 1/],
    [['rollback', 'shop', 'not a release', '--host', 'local'], /\[release\]: expected previous/],
    [['rollback', '--host', 'local'], /the client is missing/],
  ])('refuses %j with exit 2 and runs nothing', async (argv, message) => {
    const dir = scratch();
    writeFile(dir, 'stack.yml', stack);
    const runner = new ScriptedRunner();
    const { code, io, opened } = await runCli(argv, runner, { cwd: dir });
    expect(io.stderr.join('\n')).toMatch(message);
    expect(code).toBe(2);
    expect(opened).toBe(0);
    expect(runner.calls).toEqual([]);
  });

  const oneService = 'services:\n  web:\n    image: ${IMAGE}\n';
  const twoServices = `${oneService}  worker:\n    image: \${IMAGE}\n`;
  it.each([
    [oneService, [], /--service-port: a port is required/],
    [twoServices, ['--service-port', '8080'], /--routed-service: the stack has 2 services/],
  ])('names the flag of a missing routing setting, not the SSH port (%#)', async (stackText, flags, message) => {
    const dir = scratch();
    writeFile(dir, 'stack.yml', stackText);
    const runner = new ScriptedRunner();
    const { code, io } = await runCli(
      ['deploy', '--client', 'shop', '--image', 'app:v1', '--host', 'local', '--domain', 'shop.example.com', ...flags],
      runner,
      { cwd: dir },
    );
    expect(code).toBe(2);
    expect(io.stderr.join('\n')).toMatch(message);
    expect(runner.calls).toEqual([]);
  });

  it('refuses a stack the cluster policy forbids with exit 2 and runs nothing', async () => {
    const dir = scratch();
    writeFile(dir, 'stack.yml', 'services:\n  web:\n    image: ${IMAGE}\n    privileged: true\n');
    const runner = new ScriptedRunner();
    const { code, io } = await runCli(['deploy', '--client', 'shop', '--image', 'app:v1', '--host', 'local'], runner, {
      cwd: dir,
    });
    expect(code).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/policy/);
    expect(runner.calls).toEqual([]);
  });
});

describe('deploy results', () => {
  const result: DeployResult = {
    status: 'rolled-back',
    reason: 'new tasks failed: task: non-zero exit (3)',
    release: '20261123-034512-a1b',
    durationMs: 42_000,
    services: [
      {
        name: 'shop_web',
        image: 'reg/shop/app:v2@sha256:' + 'b'.repeat(64),
        running: 2,
        desired: 2,
        updateState: 'rollback_completed',
        phase: 'rollback_completed',
      },
    ],
    timeline: [{ at: Date.parse('2026-11-23T03:45:12Z'), text: 'deploy sent' }],
    failures: [
      {
        service: 'shop_web',
        taskId: 'abcdefabcdef0123',
        error: 'task: non-zero exit (3)',
        logs: 'booting\nfatal: no db',
      },
    ],
  };

  it('tells the operator what happened and why', () => {
    const text = formatResult(result);
    expect(text).toMatch(/^Release 20261123-034512-a1b was rolled back: new tasks failed/);
    expect(text).toMatch(/shop_web\s+app:v2@bbbbbbbbbbbb\s+2\/2\s+rollback_completed/);
    expect(text).toContain('shop_web task abcdefabcdef: task: non-zero exit (3)');
    expect(text).toContain('  | fatal: no db');
  });

  it('gives scripts the outputs and ISO times', () => {
    expect(resultJson('shop', result)).toMatchObject({
      client: 'shop',
      status: 'rolled-back',
      services: [{ name: 'shop_web', running: 2, desired: 2, updateState: 'rollback_completed' }],
      timeline: [{ at: '2026-11-23T03:45:12.000Z', text: 'deploy sent' }],
    });
  });
});

describe('history', () => {
  it('lists releases with their kind, verdict, git sha, image and a note', () => {
    const text = formatHistory('shop', [
      release('shop', '20261123-050000-ccc', { kind: 'scale', replicas: { shop_web: 3 } }),
      release('shop', '20261123-040000-bbb', {
        kind: 'rollback',
        restored: '20261123-030000-aaa',
        imageRef: undefined,
      }),
      release('shop', '20261123-030000-aaa', { verdict: 'rolled-back', reason: 'unhealthy container' }),
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^RELEASE\s+TIME\s+KIND\s+VERDICT\s+GIT\s+IMAGE\s+ACTOR\s+NOTE$/);
    expect(lines[1]).toMatch(
      /^20261123-050000-ccc\s+2026-11-23 03:45:12Z\s+scale\s+deployed\s+abcdef1\s+v1\s+octocat\s+web=3$/,
    );
    expect(lines[2]).toMatch(/rollback\s+deployed\s+abcdef1\s+v1\s+octocat\s+restores 20261123-030000-aaa$/);
    expect(lines[3]).toMatch(/deploy\s+rolled-back\s+.*unhealthy container$/);
  });

  it('notes nothing for a plain deploy', () => {
    expect(releaseNote(release('shop', '20261123-030000-aaa'))).toBe('');
  });

  it('prints the releases without their stacks as JSON', async () => {
    const runner = new ScriptedRunner()
      .on(['docker', 'config', 'ls'], () => ({ stdout: 'sdr.shop.20261123-034512-a1b\n' }))
      .on(['docker', 'config', 'inspect'], () => ({
        stdout: configInspect([{ name: 'sdr.shop.20261123-034512-a1b', data: release('shop', '20261123-034512-a1b') }]),
      }));
    const { code, io } = await runCli(['history', 'shop', '--host', 'local', '--json'], runner);
    expect(code).toBe(0);
    const parsed = JSON.parse(io.stdout.join('')) as { client: string; releases: Record<string, unknown>[] };
    expect(parsed.client).toBe('shop');
    expect(parsed.releases).toHaveLength(1);
    expect(parsed.releases[0]).toMatchObject({ id: '20261123-034512-a1b', kind: 'deploy', verdict: 'deployed' });
    expect(parsed.releases[0]).not.toHaveProperty('stack');
  });
});

describe('scale', () => {
  it.each([
    ['web=3', { service: 'web', replicas: 3 }],
    ['shop_web=0', { service: 'shop_web', replicas: 0 }],
    [' web=100 ', { service: 'web', replicas: 100 }],
  ])('reads %j', (text, expected) => {
    expect(parseScaleTarget(text)).toEqual(expected);
  });

  it.each(['web', 'web=', '=2', 'web=-1', 'web=101', 'web=2.5', 'web=1e2', 'a;b=1', 'web=3\n'])(
    'refuses %j',
    (text) => {
      expect(() => parseScaleTarget(text.replace('\n', ';'))).toThrow(ConfigurationError);
    },
  );

  const current = release('shop', '20261123-034512-a1b');

  it('plans a change from the recorded replicas, by short or full name', () => {
    expect(planScale(current, Tenant.parse('shop'), { service: 'web', replicas: 4 })).toEqual({
      service: 'web',
      fullName: 'shop_web',
      from: 2,
      to: 4,
    });
    expect(planScale(current, Tenant.parse('shop'), { service: 'shop_web', replicas: 0 }).service).toBe('web');
  });

  it.each([
    [
      'a service outside the stack',
      'db',
      /"db" is not a service of shop's stack \(release 20261123-034512-a1b has web, worker\)/,
    ],
    ['another client’s service', 'blog_web', /is not a service of shop's stack/],
    ['a global service', 'worker', /global mode/],
  ])('refuses %s', (_label, name, message) => {
    expect(() => planScale(current, Tenant.parse('shop'), { service: name, replicas: 2 })).toThrow(message);
  });

  function historyRunner(): ScriptedRunner {
    return new ScriptedRunner()
      .on(['docker', 'config', 'ls'], () => ({ stdout: 'sdr.shop.20261123-034512-a1b\n' }))
      .on(['docker', 'config', 'inspect'], () => ({
        stdout: configInspect([{ name: 'sdr.shop.20261123-034512-a1b', data: current }]),
      }));
  }

  it('refuses a service that is not in the stack with exit 2, having only read the history', async () => {
    const runner = historyRunner();
    const { code, io } = await runCli(['scale', 'shop', 'db=2', '--host', 'local'], runner);
    expect(code).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/<service>=<replicas>: "db" is not a service of shop's stack/);
    expect(
      runner.commands().every((c) => c.startsWith('docker config ls') || c.startsWith('docker config inspect')),
    ).toBe(true);
  });

  it('refuses replicas out of range before connecting', async () => {
    const runner = new ScriptedRunner();
    const { code, io, opened } = await runCli(['scale', 'shop', 'web=101', '--host', 'local'], runner);
    expect(code).toBe(2);
    expect(opened).toBe(0);
    expect(io.stderr.join('\n')).toMatch(/replicas must be from 0 to 100/);
  });

  it('does nothing, without the lock or a record, when the stack already runs that many replicas', async () => {
    // The services carry the fingerprint of the current release's stack, its images and counts. Its
    // global worker is refused by an enforcing policy: this scale is judged in warn mode.
    const fingerprint = stackFingerprint(
      restoreStack(current, Tenant.parse('shop'), { id: 'any', time: 'any' }, { ...POLICY, mode: 'warn' }),
    );
    const live = (name: string, options: Parameters<typeof service>[1]) => {
      const info = service(name, options);
      (info.Spec.Labels as Record<string, string>)[FINGERPRINT_LABEL] = fingerprint;
      return info;
    };
    const runner = new ScriptedRunner()
      .on(['docker', 'config', 'inspect', 'sdl.shop'], () => ({ code: 1, stderr: 'no such config' }))
      .on(['docker', 'config', 'ls'], () => ({ stdout: 'sdr.shop.20261123-034512-a1b\n' }))
      .on(['docker', 'config', 'inspect'], () => ({
        stdout: configInspect([{ name: 'sdr.shop.20261123-034512-a1b', data: current }]),
      }))
      .on(['docker', 'service', 'ls'], () => ({ stdout: 'shop_web\nshop_worker\n' }))
      .on(['docker', 'service', 'inspect'], () => ({
        stdout: JSON.stringify([
          live('shop_web', { replicas: 2, image: current.images.shop_web ?? '' }),
          live('shop_worker', { global: true, image: 'y' }),
        ]),
      }));
    const { code, io } = await runCli(
      ['scale', 'shop', 'web=2', '--host', 'local', '--json', '--policy', 'warn'],
      runner,
    );
    expect(code).toBe(0);
    expect(JSON.parse(io.stdout.join(''))).toEqual({
      client: 'shop',
      status: 'unchanged',
      service: 'shop_web',
      replicas: 2,
    });
    expect(runner.commands().some((c) => / (create|rm|deploy|update) /.test(` ${c} `))).toBe(false);
  });

  it('refuses a client with no deployed release', async () => {
    const runner = new ScriptedRunner().on(['docker', 'config', 'ls'], () => ({ stdout: '' }));
    const { code, io } = await runCli(['scale', 'shop', 'web=2', '--host', 'local'], runner);
    expect(code).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/no deployed release of shop is recorded/);
  });
});

describe('lock', () => {
  it('shows who holds the lock', async () => {
    const runner = new ScriptedRunner().on(['docker', 'config', 'inspect', 'sdl.shop'], () => ({
      stdout: configInspect([
        {
          name: 'sdl.shop',
          data: { client: 'shop', kind: 'maintenance', actor: 'oncall', since: 0, message: 'db migration' },
        },
      ]),
    }));
    const { code, io } = await runCli(['lock', 'shop', 'show', '--host', 'local'], runner);
    expect(code).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/^shop: a maintenance hold by oncall .*: "db migration"$/);
  });

  it.each([
    [['lock', 'shop', 'open', '--host', 'local'], /expected hold, release or show/],
    [['lock', 'shop', '--host', 'local'], /missing/],
    [['lock', 'shop', 'show', '--message', 'x', '--host', 'local'], /--message goes with hold only/],
  ])('refuses %j with exit 2', async (argv, message) => {
    const { code, io, opened } = await runCli(argv, new ScriptedRunner());
    expect(code).toBe(2);
    expect(opened).toBe(0);
    expect(io.stderr.join('\n')).toMatch(message);
  });

  it('a refused hold (another hold in place) exits 1, not 2', async () => {
    const runner = new ScriptedRunner()
      .on(['date'], () => ({ stdout: '1795000000.000000000\n' }))
      .on(['docker', 'config', 'create'], () => ({
        code: 1,
        stderr: 'Error response from daemon: rpc error: code = AlreadyExists',
      }))
      .on(['docker', 'config', 'inspect', 'sdl.shop'], () => ({
        stdout: configInspect([
          { name: 'sdl.shop', data: { client: 'shop', kind: 'maintenance', actor: 'oncall', since: 0 } },
        ]),
      }));
    const { code, io } = await runCli(['lock', 'shop', 'hold', '--host', 'local'], runner);
    expect(io.stderr.join('\n')).toMatch(/deploys of shop are on hold/);
    expect(code).toBe(1);
  });
});

describe('tables and times', () => {
  it('pads columns, fills empty cells and strips control characters', () => {
    expect(
      formatTable(
        ['A', 'LONG HEADER', 'C'],
        [
          ['x', '', 'tail\u001b[2J\nline'],
          ['wide cell', 'y', ''],
        ],
      ),
    ).toBe(
      ['A          LONG HEADER  C', 'x          -            tail [2J line', 'wide cell  y            -'].join('\n'),
    );
  });

  it.each([
    ['2026-11-23T03:45:12.345Z', '2026-11-23 03:45:12Z'],
    [Date.parse('2026-01-02T03:04:05Z'), '2026-01-02 03:04:05Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00Z'],
    ['not a time', 'not a time'],
  ])('formats %j as %j', (time, expected) => {
    expect(formatTime(time)).toBe(expected);
  });
});
