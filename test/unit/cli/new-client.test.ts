import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigurationError } from '../../../src/core/errors.js';
import type { CliIo } from '../../../src/cli/command.js';
import { main } from '../../../src/cli/main.js';
import {
  clientFiles,
  DEFAULT_MANAGER_HOST,
  oneTimeSteps,
  renderDeployWorkflow,
  renderRollbackWorkflow,
  renderStackFile,
  resolveClientSpec,
  type ClientSpecInput,
} from '../../../src/cli/new-client.js';
import { publicKeyFromFile } from '../../../src/state/tenants.js';

/** An io that records what a command printed, rooted in a scratch directory. */
function recordingIo(cwd: string): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { cwd, stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

function configurationError(fn: () => unknown): ConfigurationError {
  try {
    fn();
  } catch (error: unknown) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('resolveClientSpec', () => {
  it('fills the defaults', () => {
    expect(resolveClientSpec({ name: 'client-c', domains: ['C.Example.com'] })).toEqual({
      name: 'client-c',
      service: 'api',
      domains: ['c.example.com'],
      runtime: 'node',
      tier: 'standard',
      managerHosts: [DEFAULT_MANAGER_HOST],
      awsRegion: 'us-east-1',
      servicePort: 8080,
    });
  });

  it('keeps each domain once', () => {
    expect(resolveClientSpec({ name: 'ab', domains: ['a.example.com', 'A.example.com'] }).domains).toEqual([
      'a.example.com',
    ]);
  });

  const base: ClientSpecInput = { name: 'client-c', domains: ['c.example.com'] };
  it.each<[string, ClientSpecInput, string]>([
    ['an upper-case name', { ...base, name: 'Client' }, 'name'],
    ['a name with a shell metacharacter', { ...base, name: 'a;rm -rf /' }, 'name'],
    ['a name ending in -net', { ...base, name: 'shop-net' }, 'name'],
    ['no domain', { ...base, domains: [] }, 'domain'],
    ['a wildcard domain', { ...base, domains: ['*.example.com'] }, 'domain'],
    ['a domain with a backtick', { ...base, domains: ['a`b.example.com'] }, 'domain'],
    ['an unknown runtime', { ...base, runtime: 'ruby' }, 'runtime'],
    ['an unknown tier', { ...base, tier: 'gold' }, 'tier'],
    ['a manager host with a space', { ...base, managerHosts: ['m1 m2'] }, 'manager-host'],
    ['a manager host with a newline', { ...base, managerHosts: ['m1\nevil: true'] }, 'manager-host'],
    ['an AWS region that is not one', { ...base, awsRegion: 'europe' }, 'aws-region'],
    ['a port out of range', { ...base, servicePort: '70000' }, 'service-port'],
    ['a port that is not a number', { ...base, servicePort: '80a' }, 'service-port'],
    ['a service name with a dot', { ...base, service: 'a.b' }, 'service'],
  ])('refuses %s, naming the option', (_label, input, option) => {
    expect(configurationError(() => resolveClientSpec(input)).field).toBe(option);
  });
});

describe('the generated files', () => {
  const node = resolveClientSpec({ name: 'client-c', domains: ['c.example.com'] });
  const python = resolveClientSpec({
    name: 'client-d',
    domains: ['d.example.com', 'www.d.example.com'],
    runtime: 'python',
    tier: 'enterprise',
    managerHosts: ['m1.example.com', '10.0.0.2'],
    awsRegion: 'eu-west-1',
    servicePort: 8000,
  });

  it('writes the stack file and both workflows', () => {
    expect(clientFiles(node).map((f) => f.path)).toEqual([
      'stack.yml',
      '.github/workflows/deploy.yml',
      '.github/workflows/rollback.yml',
    ]);
  });

  it.each([
    ['node', node, 'NODE_ENV'],
    ['python', python, 'PYTHONUNBUFFERED'],
  ])('renders a %s stack with ${IMAGE}, 3 replicas by default and safe updates', (_label, spec, envKey) => {
    const stack = parse(renderStackFile(spec)) as {
      services: Record<string, { image: string; environment: Record<string, string>; deploy: Record<string, unknown> }>;
    };
    const service = stack.services[spec.service];
    expect(service?.image).toBe('${IMAGE}');
    expect(service?.environment).toHaveProperty(envKey);
    expect(service?.environment.PORT).toBe(String(spec.servicePort));
    expect(service?.deploy.replicas).toBe('${REPLICAS:-3}');
    expect(service?.deploy.update_config).toMatchObject({ order: 'start-first', failure_action: 'rollback' });
  });

  it('calls the reusable deploy on push to main with the client’s values and every secret', () => {
    const doc = parse(renderDeployWorkflow(python)) as {
      on: unknown;
      jobs: { deploy: { uses: string; with: Record<string, unknown>; secrets: Record<string, string> } };
    };
    expect(doc.on).toEqual({ push: { branches: ['main'] } });
    expect(doc.jobs.deploy.uses).toBe('swarm-deploy-org/swarm-deploy/.github/workflows/deploy.yml@v1');
    expect(doc.jobs.deploy.with).toEqual({
      client: 'client-d',
      service: 'api',
      domain: 'd.example.com\nwww.d.example.com\n',
      'aws-region': 'eu-west-1',
      'manager-host': 'm1.example.com\n10.0.0.2\n',
      tier: 'enterprise',
      'service-port': 8000,
    });
    expect(Object.keys(doc.jobs.deploy.secrets)).toEqual([
      'AWS_ROLE_ARN',
      'SWARM_SSH_KEY',
      'SWARM_KNOWN_HOSTS',
      'DISCORD_WEBHOOK',
      'APP_SECRETS',
    ]);
    expect(doc.jobs.deploy.secrets.SWARM_SSH_KEY).toBe('${{ secrets.SWARM_SSH_KEY }}');
  });

  it('calls the reusable rollback from workflow_dispatch with a version string', () => {
    const doc = parse(renderRollbackWorkflow(node)) as {
      on: { workflow_dispatch: { inputs: { version: { type: string; required: boolean } } } };
      jobs: { rollback: { uses: string; with: Record<string, unknown> } };
    };
    expect(doc.on.workflow_dispatch.inputs.version).toMatchObject({ type: 'string', required: true });
    expect(doc.jobs.rollback.uses).toBe('swarm-deploy-org/swarm-deploy/.github/workflows/rollback.yml@v1');
    expect(doc.jobs.rollback.with).toMatchObject({ version: '${{ inputs.version }}', client: 'client-c' });
  });

  it('lists the one-time steps with the client’s names', () => {
    const steps = oneTimeSteps(python);
    for (const secret of ['AWS_ROLE_ARN', 'SWARM_SSH_KEY', 'SWARM_KNOWN_HOSTS', 'DISCORD_WEBHOOK', 'APP_SECRETS']) {
      expect(steps).toContain(secret);
    }
    expect(steps).toContain('docker network create --driver overlay --attachable client-d-net');
    expect(steps).toContain('docker node update --label-add tier=enterprise');
    expect(steps).toContain('ssh-keyscan -t ed25519 m1.example.com 10.0.0.2');
    expect(steps).toContain('examples/client-b');
    expect(steps).not.toContain(DEFAULT_MANAGER_HOST);
  });

  it('asks a standard client for no node label, and to set the manager when none was given', () => {
    const steps = oneTimeSteps(node);
    expect(steps).not.toContain('--label-add');
    expect(steps).toContain(`Replace ${DEFAULT_MANAGER_HOST}`);
  });
});

describe('swarm-deploy new-client', () => {
  let dir: string;
  /** The operator's home: the deploy key goes to its .ssh unless --key-file says otherwise. */
  let home: string;
  const realHome = process.env.HOME;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'new-client-'));
    home = mkdtempSync(join(tmpdir(), 'new-client-home-'));
    process.env.HOME = home;
  });
  afterEach(() => {
    process.env.HOME = realHome;
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  const files = ['stack.yml', '.github/workflows/deploy.yml', '.github/workflows/rollback.yml'];

  it('writes the files into --dir and prints the one-time steps', async () => {
    const io = recordingIo('/');
    const code = await main(
      ['new-client', 'client-c', '--domain', 'c.example.com', '--tier', 'enterprise', '--dir', dir],
      io,
    );
    expect(code).toBe(0);
    for (const f of files) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(readFileSync(join(dir, 'stack.yml'), 'utf8')).toBe(
      renderStackFile(resolveClientSpec({ name: 'client-c', domains: ['c.example.com'], tier: 'enterprise' })),
    );
    const printed = io.stdout.join('\n');
    expect(printed).toContain('One-time steps for client-c');
    expect(printed).toContain('client-c-net');
    expect(io.stderr).toEqual([]);
  });

  it('resolves --dir against the working directory, and defaults to it', async () => {
    const io = recordingIo(dir);
    expect(await main(['new-client', 'client-c', '--domain', 'c.example.com'], io)).toBe(0);
    expect(existsSync(join(dir, 'stack.yml'))).toBe(true);
    expect(await main(['new-client', 'client-e', '--domain', 'e.example.com', '--dir', 'sub'], io)).toBe(0);
    expect(existsSync(join(dir, 'sub', '.github/workflows/deploy.yml'))).toBe(true);
  });

  it('refuses to overwrite an existing file without --force, and writes nothing at all', async () => {
    mkdirSync(join(dir, '.github/workflows'), { recursive: true });
    writeFileSync(join(dir, '.github/workflows/deploy.yml'), 'mine\n');
    const io = recordingIo(dir);
    expect(await main(['new-client', 'client-c', '--domain', 'c.example.com'], io)).toBe(1);
    expect(io.stderr.join('\n')).toContain('.github/workflows/deploy.yml');
    expect(io.stderr.join('\n')).toContain('--force');
    expect(readFileSync(join(dir, '.github/workflows/deploy.yml'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(dir, 'stack.yml'))).toBe(false);

    expect(await main(['new-client', 'client-c', '--domain', 'c.example.com', '--force'], io)).toBe(0);
    expect(readFileSync(join(dir, '.github/workflows/deploy.yml'), 'utf8')).toContain('client: client-c');
  });

  it.each([
    ['no client name', ['new-client', '--domain', 'c.example.com'], 'the client name is missing'],
    ['two client names', ['new-client', 'a1', 'b1', '--domain', 'c.example.com'], 'only one client name'],
    ['no --domain', ['new-client', 'client-c'], '--domain'],
    ['an unknown option', ['new-client', 'client-c', '--domian', 'c.example.com'], "Unknown option '--domian'"],
    ['a hostile client name', ['new-client', '$(touch pwned)', '--domain', 'c.example.com'], 'client name'],
    ['a bad runtime', ['new-client', 'client-c', '--domain', 'c.example.com', '--runtime', 'go'], 'runtime'],
  ])('exits 2 on %s, writing nothing', async (_label, argv, message) => {
    const io = recordingIo(dir);
    expect(await main(argv, io)).toBe(2);
    expect(io.stderr.join('\n')).toContain(message);
    for (const f of files) expect(existsSync(join(dir, f)), f).toBe(false);
  });

  it('creates the client’s deploy key pair in ~/.ssh: the private key mode 0600 and never printed', async () => {
    const io = recordingIo(dir);
    expect(await main(['new-client', 'client-c', '--domain', 'c.example.com', '--tier', 'enterprise'], io)).toBe(0);
    const privateFile = join(home, '.ssh', 'swarm-deploy-client-c');
    const privateKey = readFileSync(privateFile, 'utf8');
    expect(privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(statSync(privateFile).mode & 0o777).toBe(0o600);
    const publicKey = publicKeyFromFile(readFileSync(`${privateFile}.pub`, 'utf8'));
    expect(publicKey).toMatch(/^ssh-ed25519 /);
    const printed = [...io.stdout, ...io.stderr].join('\n');
    const body = privateKey.split('\n')[1] as string;
    expect(printed).not.toContain(body);
    expect(printed).toContain(
      `swarm-deploy platform tenant set client-c --domain c.example.com --tier enterprise --registry '<aws-account-id>.dkr.ecr.us-east-1.amazonaws.com' --key-file ${privateFile}.pub --subject 'repo:<owner>/<repo>:environment:production'`,
    );
    expect(printed).toContain(`gh secret set SWARM_SSH_KEY < ${privateFile}`);
  });

  it('writes the key where --key-file says, and never over an existing key', async () => {
    const keys = mkdtempSync(join(tmpdir(), 'new-client-keys-'));
    try {
      const io = recordingIo(dir);
      const argv = ['new-client', 'client-c', '--domain', 'c.example.com', '--key-file', join(keys, 'c')];
      expect(await main(argv, io)).toBe(0);
      expect(existsSync(join(keys, 'c.pub'))).toBe(true);
      const before = readFileSync(join(keys, 'c'), 'utf8');
      const again = recordingIo(dir);
      expect(await main([...argv, '--force'], again)).toBe(1);
      expect(again.stderr.join('\n')).toContain(`not overwriting the key file ${join(keys, 'c')}`);
      expect(readFileSync(join(keys, 'c'), 'utf8')).toBe(before);
    } finally {
      rmSync(keys, { recursive: true, force: true });
    }
  });

  it('refuses a key file inside the client repository, writing nothing', async () => {
    const io = recordingIo(dir);
    expect(await main(['new-client', 'client-c', '--domain', 'c.example.com', '--key-file', 'keys/id'], io)).toBe(2);
    expect(io.stderr.join('\n')).toContain('--key-file: ');
    expect(io.stderr.join('\n')).toContain('a private key must never be committed');
    expect(existsSync(join(dir, 'keys'))).toBe(false);
    for (const f of files) expect(existsSync(join(dir, f)), f).toBe(false);
  });

  it('creates no key with --no-key, and the steps ask for the client’s own', async () => {
    const io = recordingIo(dir);
    expect(await main(['new-client', 'client-c', '--domain', 'c.example.com', '--no-key'], io)).toBe(0);
    expect(existsSync(join(home, '.ssh'))).toBe(false);
    expect(io.stdout.join('\n')).toContain("--key-file '<deploy-key>.pub'");
  });

  it('prints its help with --help', async () => {
    const io = recordingIo(dir);
    expect(await main(['new-client', '--help'], io)).toBe(0);
    expect(io.stdout.join('\n')).toContain('Usage: swarm-deploy new-client <name> --domain <domain>');
  });
});

describe('swarm-deploy (the dispatcher)', () => {
  it('lists its commands with --help and exits 0', async () => {
    const io = recordingIo('/');
    expect(await main(['--help'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/new-client\s+write a new client/);
  });

  it('exits 2 with the usage when no command is given', async () => {
    const io = recordingIo('/');
    expect(await main([], io)).toBe(2);
    expect(io.stderr.join('\n')).toContain('Usage: swarm-deploy <command>');
  });

  it.each(['deploi', 'constructor', '__proto__'])('exits 2 on the unknown command %j', async (name) => {
    const io = recordingIo('/');
    expect(await main([name], io)).toBe(2);
    expect(io.stderr.join('\n')).toContain(`unknown command ${JSON.stringify(name)}`);
  });
});
