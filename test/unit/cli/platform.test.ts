import { describe, expect, it } from 'vitest';
import { readTenant, validateTenantEntry } from '../../../src/state/tenants.js';
import { fingerprintOf } from '../../../src/transport/known-hosts.js';
import { runCli, scratch, writeFile } from '../../support/cli.js';
import { ConfigStore } from '../../support/config-store.js';
import { ed25519Key, rsaKey } from '../../support/ssh-keys.js';

const KEY = ed25519Key();
const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const LOCAL = ['--host', 'local'];

/** `platform tenant set shop` with a whole set of flags, the key read from a file in `dir`. */
function setArgs(dir: string, ...more: string[]): string[] {
  writeFile(dir, 'shop.pub', `${KEY} ops@laptop\n`);
  return [
    'platform',
    'tenant',
    'set',
    'shop',
    '--domain',
    'shop.example.com',
    '--domain',
    'API.shop.example.com',
    '--tier',
    'enterprise',
    '--registry',
    ECR,
    '--key-file',
    'shop.pub',
    '--subject',
    'repo:acme/shop:environment:production',
    ...LOCAL,
    ...more,
  ];
}

describe('platform tenant set', () => {
  it('writes the entry with the defaults for what is not given, and says where', async () => {
    const store = new ConfigStore();
    const dir = scratch();
    const { code, io } = await runCli(setArgs(dir), store.runner, { cwd: dir });
    expect(io.stderr).toEqual([]);
    expect(code).toBe(0);
    const [name] = store.names();
    expect(io.stdout).toEqual([`shop: written as ${name}.`]);
    expect(await readTenant(store.runner, 'shop')).toEqual({
      client: 'shop',
      domains: ['shop.example.com', 'api.shop.example.com'],
      tier: 'enterprise',
      policy: 'enforce',
      maxReplicas: 10,
      publishPorts: false,
      managerPlacement: false,
      registries: [ECR],
      keys: [KEY],
      subjects: ['repo:acme/shop:environment:production'],
    });
  });

  it('an update replaces the whole entry and removes the older version', async () => {
    const store = new ConfigStore();
    const dir = scratch();
    await runCli(setArgs(dir), store.runner, { cwd: dir });
    const [first] = store.names();
    const more = ['--policy', 'warn', '--max-replicas', '3', '--publish-ports', '--manager-placement'];
    const { code, io } = await runCli(setArgs(dir, ...more), store.runner, { cwd: dir });
    expect(code).toBe(0);
    const [second] = store.names();
    expect(second).not.toBe(first);
    expect(io.stdout).toEqual([`shop: written as ${second} (replaces ${first}).`]);
    expect(await readTenant(store.runner, 'shop')).toMatchObject({
      policy: 'warn',
      maxReplicas: 3,
      publishPorts: true,
      managerPlacement: true,
    });
  });

  it('says so when the entry is already the registry’s, and --json gives the write', async () => {
    const store = new ConfigStore();
    const dir = scratch();
    await runCli(setArgs(dir), store.runner, { cwd: dir });
    const { code, io } = await runCli(setArgs(dir, '--json'), store.runner, { cwd: dir });
    expect(code).toBe(0);
    expect(JSON.parse(io.stdout.join('\n'))).toEqual({
      client: 'shop',
      config: store.names()[0],
      changed: false,
      pruned: [],
    });
  });

  it.each([
    ['a tier that is not one', ['--tier', 'gold'], '--tier: "gold" is not one of standard, enterprise'],
    ['policy off', ['--policy', 'off'], '--policy: "off" is not one of enforce, warn'],
    ['too many replicas', ['--max-replicas', '1001'], '--max-replicas: expected a whole number from 1 to 1000'],
    ['replicas that are not a number', ['--max-replicas', '3x'], '--max-replicas: "3x" is not a whole number'],
    ['a wildcard domain', ['--domain', '*.example.com'], '--domain: "*.example.com" is not a host name'],
    [
      'a registry URL',
      ['--registry', 'https://r.example.com'],
      '--registry: "https://r.example.com" is not a registry',
    ],
    ['a subject with a wildcard', ['--subject', 'repo:acme/*:ref:x'], '--subject: "repo:acme/*:ref:x" is not an OIDC'],
    ['a key file that is not there', ['--key-file', 'nope.pub'], '--key-file: cannot read "nope.pub"'],
  ])('refuses %s, naming the flag, and changes nothing', async (_what, more, message) => {
    const store = new ConfigStore();
    const dir = scratch();
    const { code, io } = await runCli(setArgs(dir, ...more), store.runner, { cwd: dir });
    expect(code).toBe(2);
    expect(io.stderr.join('\n')).toContain(message);
    expect(store.runner.calls).toEqual([]);
  });

  it('refuses a platform name as client, and changes nothing', async () => {
    const store = new ConfigStore();
    const dir = scratch();
    const args = setArgs(dir).map((word) => (word === 'shop' ? 'traefik' : word));
    const { code, io } = await runCli(args, store.runner, { cwd: dir });
    expect(code).toBe(2);
    expect(io.stderr.join('\n')).toContain('<client>: the client name "traefik" is reserved');
    expect(store.runner.calls).toEqual([]);
  });

  it.each([
    ['with options before the key', (key: string) => `command="/bin/sh" ${key}\n`],
    ['of two keys', (key: string) => `${key}\n${key}\n`],
    ['of a short RSA key', () => `${rsaKey(2048)} old\n`],
  ])('refuses a key file %s', async (_what, content) => {
    const store = new ConfigStore();
    const dir = scratch();
    const args = setArgs(dir, '--key-file', 'bad.pub');
    writeFile(dir, 'bad.pub', content(KEY));
    const { code, io } = await runCli(args, store.runner, { cwd: dir });
    expect(code).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/--key-file: the key/);
    expect(store.runner.calls).toEqual([]);
  });

  it('needs --domain and --tier, with its own usage on a misuse', async () => {
    const store = new ConfigStore();
    const noTier = await runCli(['platform', 'tenant', 'set', 'shop', '--domain', 'a.example.com'], store.runner);
    expect(noTier.code).toBe(2);
    expect(noTier.io.stderr.join('\n')).toMatch(
      /^swarm-deploy platform tenant set: --tier is required\n\nUsage: swarm-deploy platform tenant set/,
    );
    const noDomain = await runCli(['platform', 'tenant', 'set', 'shop', '--tier', 'standard'], store.runner);
    expect(noDomain.io.stderr.join('\n')).toContain('at least one --domain is required');
    expect(store.runner.calls).toEqual([]);
  });
});

describe('platform tenant show', () => {
  it('shows the entry, its keys by fingerprint, and their authorized_keys lines', async () => {
    const store = new ConfigStore();
    const dir = scratch();
    await runCli(setArgs(dir), store.runner, { cwd: dir });
    const { code, io } = await runCli(['platform', 'tenant', 'show', 'shop', ...LOCAL], store.runner);
    expect(code).toBe(0);
    const fingerprint = fingerprintOf(Buffer.from(KEY.split(' ')[1] as string, 'base64'));
    expect(io.stdout.join('\n')).toBe(
      [
        'client             shop',
        'domains            shop.example.com',
        '                   api.shop.example.com',
        'tier               enterprise',
        'policy             enforce',
        'max replicas       10',
        'publish ports      no',
        'manager placement  no',
        `registries         ${ECR}`,
        `keys               ssh-ed25519 ${fingerprint}`,
        'subjects           repo:acme/shop:environment:production',
        '',
        'authorized_keys lines on the managers:',
        `restrict,command="sudo -n -u swarm-gate -- /usr/local/lib/swarm-deploy/gate --client shop" ${KEY} swarm-deploy:shop`,
      ].join('\n'),
    );
  });

  it('gives the entry as JSON with --json', async () => {
    const store = new ConfigStore();
    const dir = scratch();
    await runCli(setArgs(dir), store.runner, { cwd: dir });
    const { io } = await runCli(['platform', 'tenant', 'show', 'shop', '--json', ...LOCAL], store.runner);
    const shown = JSON.parse(io.stdout.join('\n')) as { client: string; entry: unknown };
    expect(shown.client).toBe('shop');
    expect(validateTenantEntry(shown.entry).keys).toEqual([KEY]);
  });

  it('exits 1 for a client the registry does not know', async () => {
    const store = new ConfigStore();
    const { code, io } = await runCli(['platform', 'tenant', 'show', 'blog', ...LOCAL], store.runner);
    expect(code).toBe(1);
    expect(io.stdout).toEqual(['blog has no entry in the tenant registry.']);
  });

  it('refuses a hostile client name before anything runs', async () => {
    const store = new ConfigStore();
    const { code, io } = await runCli(['platform', 'tenant', 'show', 'a;rm -rf /', ...LOCAL], store.runner);
    expect(code).toBe(2);
    expect(io.stderr.join('\n')).toContain('<client>: the client name');
    expect(store.runner.calls).toEqual([]);
  });
});

describe('platform tenant list', () => {
  it('lists every client, one line each', async () => {
    const store = new ConfigStore();
    const dir = scratch();
    await runCli(setArgs(dir), store.runner, { cwd: dir });
    writeFile(dir, 'blog.pub', `${ed25519Key()}\n`);
    const blog = ['platform', 'tenant', 'set', 'blog', '--domain', 'blog.example.com', '--tier', 'standard'];
    await runCli([...blog, '--key-file', 'blog.pub', ...LOCAL], store.runner, { cwd: dir });
    const { code, io } = await runCli(['platform', 'tenant', 'list', ...LOCAL], store.runner);
    expect(code).toBe(0);
    expect(io.stdout.join('\n')).toBe(
      [
        'CLIENT  TIER        POLICY   MAX-REPLICAS  DOMAINS                                KEYS  SUBJECTS',
        'blog    standard    enforce  10            blog.example.com                       1     0',
        'shop    enterprise  enforce  10            shop.example.com,api.shop.example.com  1     1',
      ].join('\n'),
    );
  });

  it('says when the registry is empty', async () => {
    const store = new ConfigStore();
    const { io } = await runCli(['platform', 'tenant', 'list', ...LOCAL], store.runner);
    expect(io.stdout).toEqual(['The tenant registry is empty.']);
  });
});

describe('platform', () => {
  it('prints the usage of all its subcommands with --help', async () => {
    const store = new ConfigStore();
    const { code, io } = await runCli(['platform', '--help'], store.runner);
    expect(code).toBe(0);
    const usage = io.stdout.join('\n');
    expect(usage).toContain('Usage: swarm-deploy platform tenant set | tenant show | tenant list');
    expect(usage).toContain('Usage: swarm-deploy platform tenant set <client>');
    expect(usage).toContain('Usage: swarm-deploy platform tenant list');
  });

  it('exits 2 on a subcommand it does not have', async () => {
    const store = new ConfigStore();
    const { code, io } = await runCli(['platform', 'tenant', 'remove', 'shop'], store.runner);
    expect(code).toBe(2);
    expect(io.stderr.join('\n')).toContain('expected tenant set, tenant show, tenant list');
  });
});
