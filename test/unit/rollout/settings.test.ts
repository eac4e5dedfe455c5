import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { actionField } from '../../../src/core/run.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readDeploySettings, workspaceFile, type DeploySettings } from '../../../src/rollout/settings.js';
import type { DeployRequest } from '../../../src/rollout/request.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import { Inputs, mapInputs } from '../../../src/core/inputs.js';
import { actionSpelling } from '../../support/errors.js';

// A real workspace on disk: the stack file, a config, and links that lead in and out of it.
const root = mkdtempSync(join(tmpdir(), 'sd-settings-'));
const workspace = join(root, 'repo');
const outside = join(root, 'outside');
mkdirSync(join(workspace, 'deploy'), { recursive: true });
mkdirSync(outside);
writeFileSync(join(workspace, 'stack.yml'), 'services:\n  web:\n    image: ${IMAGE}\n');
writeFileSync(join(workspace, 'deploy', 'nginx.conf'), 'server {}\n');
writeFileSync(join(outside, 'secret.yml'), 'stolen: true\n');
symlinkSync(join(outside, 'secret.yml'), join(workspace, 'escape.yml'));
symlinkSync(outside, join(workspace, 'escape-dir'));
symlinkSync(join(workspace, 'stack.yml'), join(workspace, 'alias.yml'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const env = { GITHUB_WORKSPACE: workspace } as NodeJS.ProcessEnv;

/** A well-formed ssh-ed25519 known_hosts line (type string + 32-byte key). */
function knownHostsLine(host: string): string {
  const type = Buffer.from('ssh-ed25519');
  const blob = Buffer.alloc(4 + type.length + 4 + 32);
  blob.writeUInt32BE(type.length, 0);
  type.copy(blob, 4);
  blob.writeUInt32BE(32, 4 + type.length);
  blob.fill(7, 8 + type.length);
  return `${host} ssh-ed25519 ${blob.toString('base64')}`;
}

const SSH_KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-private-material\n-----END OPENSSH PRIVATE KEY-----';

const valid: Record<string, string> = {
  host: 'manager-1.example.com',
  'ssh-key': SSH_KEY,
  'known-hosts': knownHostsLine('manager-1.example.com'),
  client: 'shop',
  image: 'registry.example.com/shop/web:v2',
};

function read(overrides: Record<string, string | undefined>, masked: string[] = []) {
  const inputs = new Inputs(mapInputs({ ...valid, ...overrides }), (v) => masked.push(v));
  return readDeploySettings(inputs, env);
}

/** The deploy request the settings carry (a rollback fails the test). */
function deployOf(settings: DeploySettings): DeployRequest {
  if (settings.request.kind !== 'deploy') throw new Error(`expected a deploy, got a ${settings.request.kind}`);
  return settings.request;
}

function errorOf(overrides: Record<string, string | undefined>): ConfigurationError {
  try {
    read(overrides);
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw new Error(`expected a ConfigurationError, got ${String(error)}`);
  }
  throw new Error('expected a ConfigurationError, got none');
}

describe('readDeploySettings accepts', () => {
  test('a plain SSH deploy, with the defaults the issue sets', () => {
    const settings = read({});
    expect(settings.lock).toBe('deploy');
    expect(settings.connection.local).toBe(false);
    expect(settings.connection.ssh).toMatchObject({
      hosts: [{ host: 'manager-1.example.com', port: 22 }],
      user: 'deploy',
      privateKey: SSH_KEY,
    });
    expect(settings.request.tenant.network).toBe('shop-net');
    expect(settings.request).toMatchObject({
      stackFile: 'stack.yml',
      stackText: 'services:\n  web:\n    image: ${IMAGE}\n',
      image: 'registry.example.com/shop/web:v2',
      timeoutMs: 600_000,
      autoRollback: true,
      dryRun: false,
      prune: false,
      keepReleases: 10,
      kind: 'deploy',
      registry: undefined,
    });
  });

  test('host: local runs on this machine and needs no SSH key or known hosts', () => {
    const settings = read({ host: 'local', 'ssh-key': undefined, 'known-hosts': undefined });
    expect(settings.connection).toEqual({ local: true });
  });

  test.each<[string, Record<string, string>, object]>([
    [
      "a host alone: the managers' user, port 22",
      { 'jump-host': 'bastion.example.com' },
      { host: 'bastion.example.com', port: 22, user: 'deploy' },
    ],
    [
      'a user and a port',
      { 'jump-host': 'jump@10.0.0.9:2200', user: 'ops' },
      { host: '10.0.0.9', port: 2200, user: 'jump' },
    ],
    [
      'a bracketed IPv6 address',
      { 'jump-host': 'ec2-user@[fd00::9]:22' },
      { host: 'fd00::9', port: 22, user: 'ec2-user' },
    ],
  ])('jump-host: %s, logging in with ssh-key', (_label, overrides, jump) => {
    const ssh = read(overrides).connection.ssh;
    expect(ssh?.jump).toEqual({ ...jump, privateKey: undefined });
    // The port input is the managers' port, not the jump host's.
    expect(ssh?.hosts).toEqual([{ host: 'manager-1.example.com', port: 22 }]);
  });

  test("jump-ssh-key is the jump host's own key, masked", () => {
    const masked: string[] = [];
    const ssh = read({ 'jump-host': 'bastion', 'jump-ssh-key': 'BASTION-KEY' }, masked).connection.ssh;
    expect(ssh?.jump?.privateKey).toBe('BASTION-KEY');
    expect(ssh?.privateKey).toBe(SSH_KEY);
    expect(masked).toContain('BASTION-KEY');
  });

  test('no jump-host connects directly', () => {
    expect(read({ 'jump-ssh-key': 'BASTION-KEY' }).connection.ssh?.jump).toBeUndefined();
  });

  test('several managers, with ports and bracketed IPv6', () => {
    const settings = read({ host: 'm1.example.com, m2.example.com:2222\n[fd00::1]:2200\n10.0.0.5', port: '2022' });
    expect(settings.connection.ssh?.hosts).toEqual([
      { host: 'm1.example.com', port: 2022 },
      { host: 'm2.example.com', port: 2222 },
      { host: 'fd00::1', port: 2200 },
      { host: '10.0.0.5', port: 2022 },
    ]);
  });

  test('every input in its own syntax', () => {
    const settings = read({
      'stack-file': 'alias.yml',
      env: 'GREETING=hello\nPRICE=$5',
      secrets: 'db-password=s3cr3t-value\napi.key=k3y-value',
      configs: 'nginx.conf=deploy/nginx.conf',
      registry: 'https://registry.example.com:5000',
      'registry-username': 'ci',
      'registry-password': 'pa55word',
      timeout: '3m',
      'auto-rollback': 'false',
      'dry-run': 'true',
      'keep-releases': '20',
      'stuck-timeout': '30s',
      'git-sha': 'abcdef1',
    });
    expect(settings.request).toMatchObject({
      timeoutMs: 180_000,
      autoRollback: false,
      dryRun: true,
      keepReleases: 20,
      stuckMs: 30_000,
      gitSha: 'abcdef1',
      registry: { server: 'https://registry.example.com:5000', username: 'ci', password: 'pa55word' },
    });
    const request = deployOf(settings);
    expect(request.stackText).toContain('image: ${IMAGE}');
    expect([...request.env]).toEqual([
      ['GREETING', 'hello'],
      ['PRICE', '$5'],
    ]);
    expect([...request.secrets.keys()]).toEqual(['db-password', 'api.key']);
    expect(request.configs.get('nginx.conf')).toBe('server {}\n');
  });

  test.each([
    'previous',
    '20261123-034512-a1b',
    'abcdef1',
    'abcdef1234567890abcdef1234567890abcdef12',
    'v1.2.3',
    'release_7',
  ])('rollback-to %s (and then reads no stack file)', (wanted) => {
    const settings = read({ 'rollback-to': wanted, 'stack-file': 'does-not-exist.yml' });
    expect(settings.request).toMatchObject({ kind: 'rollback', to: wanted });
    expect(settings.request).not.toHaveProperty('stackText');
  });
});

describe('readDeploySettings refuses, naming the input', () => {
  test.each<[string, Record<string, string | undefined>, string, RegExp]>([
    ['no client', { client: undefined }, 'client', /is required/],
    ['an upper-case client', { client: 'Shop' }, 'client', /lowercase/],
    ['a client with shell syntax', { client: 'shop;rm -rf /' }, 'client', /may contain only/],
    ['a client with a substitution', { client: '$(id)' }, 'client', /may contain only/],
    ['a client ending in -net', { client: 'shop-net' }, 'client', /-net/],
    ['a one-letter client', { client: 'a' }, 'client', /2 to 40/],
    ['an image with upper case', { image: 'registry.example.com/Shop/web:v1' }, 'image', /lowercase/],
    ['an image with a command', { image: 'web:v1;id' }, 'image', /not a valid image reference/],
    ['an image with a bad digest', { image: 'web@sha256:abc' }, 'image', /digest/],
    ['an image with whitespace', { image: 'web:v1 --privileged' }, 'image', /whitespace/],
    ['rollback-to with a path', { 'rollback-to': '../../etc' }, 'rollback-to', /expected previous/],
    ['rollback-to with a substitution', { 'rollback-to': '$(id)' }, 'rollback-to', /expected previous/],
    ['rollback-to HEAD~1', { 'rollback-to': 'HEAD~1' }, 'rollback-to', /expected previous/],
    ['rollback-to starting with a dash', { 'rollback-to': '-v' }, 'rollback-to', /expected previous/],
    ['no ssh-key for a remote host', { 'ssh-key': undefined }, 'ssh-key', /is required/],
    ['no known-hosts', { 'known-hosts': undefined }, 'known-hosts', /pinned, never trusted on first use/],
    [
      'a known-hosts line that is not one',
      { 'known-hosts': 'manager-1 ssh-ed25519 bm90LWEta2V5' },
      'known-hosts',
      /not a valid ssh-ed25519/,
    ],
    ['no host', { host: undefined }, 'host', /is required/],
    ['a jump-host with a space', { 'jump-host': 'bastion 2' }, 'jump-host', /one jump host/],
    ['two jump hosts', { 'jump-host': 'b1,b2' }, 'jump-host', /one jump host/],
    ['a jump-host with shell syntax', { 'jump-host': 'b1;id' }, 'jump-host', /not a host name/],
    [
      'a jump-host user that reads as an option',
      { 'jump-host': '-oProxyCommand=x@b1' },
      'jump-host',
      /plain user name/,
    ],
    ['an empty jump-host user', { 'jump-host': '@b1' }, 'jump-host', /plain user name/],
    ['a jump-host port out of range', { 'jump-host': 'b1:65536' }, 'jump-host', /out of range/],
    ['a jump-host port of 0', { 'jump-host': 'b1:0' }, 'jump-host', /out of range/],
    ['a jump-host URL', { 'jump-host': 'ssh://b1' }, 'jump-host', /not a host name/],
    ['a host with a space', { host: 'manager 1' }, 'host', /not a host name/],
    ['a host with shell syntax', { host: 'm1;id' }, 'host', /not a host name/],
    ['a user@host', { host: 'root@m1' }, 'host', /not a host name/],
    ['an out-of-range port in host', { host: 'm1:70000' }, 'host', /out of range/],
    ['an unclosed IPv6 bracket', { host: '[fd00::1' }, 'host', /not a host name/],
    ['a port of 0', { port: '0' }, 'port', /at least 1/],
    ['a port that is not a number', { port: 'ssh' }, 'port', /whole number/],
    [
      'a stack file above the workspace',
      { 'stack-file': '../outside/secret.yml' },
      'stack-file',
      /inside the repository/,
    ],
    ['an absolute stack file', { 'stack-file': join(outside, 'secret.yml') }, 'stack-file', /no absolute path/],
    ['/etc/passwd', { 'stack-file': '/etc/passwd' }, 'stack-file', /no absolute path/],
    [
      'a stack file that is a link out of the workspace',
      { 'stack-file': 'escape.yml' },
      'stack-file',
      /link that leads outside/,
    ],
    [
      'a stack file through a linked directory',
      { 'stack-file': 'escape-dir/secret.yml' },
      'stack-file',
      /link that leads outside/,
    ],
    ['a missing stack file', { 'stack-file': 'nope.yml' }, 'stack-file', /does not exist/],
    ['the workspace itself', { 'stack-file': '.' }, 'stack-file', /inside the repository/],
    ['a directory as stack file', { 'stack-file': 'deploy' }, 'stack-file', /cannot read deploy/],
    ['a config outside the workspace', { configs: 'x=../outside/secret.yml' }, 'configs', /inside the repository/],
    ['a config that is a directory', { configs: 'x=deploy' }, 'configs', /cannot read deploy/],
    [
      'a registry without credentials',
      { registry: 'registry.example.com' },
      'registry',
      /registry-username and registry-password/,
    ],
    [
      'a registry without password',
      { registry: 'r.example.com', 'registry-username': 'ci' },
      'registry',
      /registry-password are required/,
    ],
    [
      'a registry that reads as an option',
      { registry: '-h', 'registry-username': 'ci', 'registry-password': 'pw' },
      'registry',
      /not a registry host/,
    ],
    [
      'a registry with shell syntax',
      { registry: 'r.example.com;id', 'registry-username': 'ci', 'registry-password': 'pw' },
      'registry',
      /not a registry host/,
    ],
    ['a timeout that is not a duration', { timeout: 'forever' }, 'timeout', /expected a duration/],
    ['a timeout under 10 s', { timeout: '5s' }, 'timeout', /at least 10000 ms/],
    ['a timeout over 6 h', { timeout: '7h' }, 'timeout', /at most/],
    ['a lock-timeout that is not a duration', { 'lock-timeout': '10 minutes' }, 'lock-timeout', /expected a duration/],
    ['a stuck-timeout under a second', { 'stuck-timeout': '10ms' }, 'stuck-timeout', /at least 1000 ms/],
    ['a lock-expiry that is not a duration', { 'lock-expiry': 'soon' }, 'lock-expiry', /expected a duration/],
    ['auto-rollback yes', { 'auto-rollback': 'yes' }, 'auto-rollback', /expected true or false/],
    ['dry-run 1', { 'dry-run': '1' }, 'dry-run', /expected true or false/],
    ['keep-releases 1', { 'keep-releases': '1' }, 'keep-releases', /at least 2/],
    ['a git-sha that is not hex', { 'git-sha': 'main' }, 'git-sha', /hexadecimal/],
    ['a secret name with a space', { secrets: 'db password=x' }, 'secrets', /must be a secret name/],
    ['a secret line without =', { secrets: 'just-a-value' }, 'secrets', /not KEY=VALUE/],
    ['a secret given twice', { secrets: 'a=1\na=2' }, 'secrets', /given twice/],
    ['an env key that is not an identifier', { env: '1BAD=x' }, 'env', /must be letters/],
    ['a lock action that does not exist', { lock: 'steal' }, 'lock', /expected one of deploy, hold, release/],
    ['a tier that does not exist', { tier: 'gold' }, 'tier', /standard or enterprise/],
    ['a policy mode that does not exist', { policy: 'off' }, 'policy', /expected one of enforce, warn/],
    ['a service port out of range', { 'service-port': '70000' }, 'service-port', /at most 65535/],
  ])('%s', (_label, overrides, input, message) => {
    const error = errorOf(overrides);
    expect(error.field).toBe(input);
    expect(error.message).toMatch(message);
    expect(error.spelled(actionField)).toBe(`Input "${input}": ${error.message}`);
  });
});

describe('secrets', () => {
  const secretInputs = {
    'ssh-key': SSH_KEY,
    'ssh-key-passphrase': 'passphrase-value',
    'registry-password': 'registry-pa55',
    'jump-ssh-key': 'jump-key-value',
    secrets: 'db-password=db-s3cret\napi-key=api-s3cret',
  };

  test('are masked before any other input is read', () => {
    const events: string[] = [];
    const values: Record<string, string | undefined> = { ...valid, ...secretInputs };
    const inputs = new Inputs(
      (name) => {
        events.push(`read ${name}`);
        return values[name];
      },
      (value) => events.push(`mask ${value}`),
    );
    readDeploySettings(inputs, env);
    const firstOther = events.findIndex(
      (e) =>
        e.startsWith('read ') &&
        ![
          'read ssh-key',
          'read ssh-key-passphrase',
          'read jump-ssh-key',
          'read registry-password',
          'read secrets',
        ].includes(e),
    );
    const masks = events.map((e, i) => [e, i] as const).filter(([e]) => e.startsWith('mask '));
    for (const secret of [SSH_KEY, 'passphrase-value', 'jump-key-value', 'registry-pa55', 'db-s3cret', 'api-s3cret']) {
      const at = masks.find(([e]) => e === `mask ${secret}`)?.[1];
      expect(at, secret).toBeDefined();
      expect(at as number).toBeLessThan(firstOther);
    }
    // Each line of a multi-line key is masked too (the log masks line by line).
    expect(events).toContain('mask b3BlbnNzaC1rZXktdjEAAAAA-private-material');
  });

  test('are masked even when a later input is refused, and no error quotes them', () => {
    const masked: string[] = [];
    let message = '';
    try {
      read({ ...secretInputs, client: 'BAD' }, masked);
    } catch (error) {
      message = (error as ConfigurationError).spelled(actionField);
    }
    expect(message).toMatch(/Input "client"/);
    expect(masked).toEqual(
      expect.arrayContaining([SSH_KEY, 'passphrase-value', 'registry-pa55', 'db-s3cret', 'api-s3cret']),
    );
    for (const secret of ['private-material', 'passphrase-value', 'registry-pa55', 'db-s3cret'])
      expect(message).not.toContain(secret);
  });

  test('a refused secrets line does not quote its value', () => {
    const error = errorOf({ secrets: 'ok=1\nnot a key=hunter2-value' });
    expect(error.field).toBe('secrets');
    expect(error.message).not.toContain('hunter2-value');
  });
});

describe('workspaceFile', () => {
  test('returns the real path of a file inside the workspace, following links that stay inside', () => {
    expect(workspaceFile('stack-file', 'alias.yml', workspace)).toMatch(/repo\/stack\.yml$/);
    expect(workspaceFile('stack-file', './deploy/../stack.yml', workspace)).toMatch(/repo\/stack\.yml$/);
  });

  test.each([
    ['a NUL byte', 'stack.yml\0.txt', /NUL byte/],
    ['../', '../outside/secret.yml', /no absolute path, no \.\.\//],
    ['an absolute path', '/etc/hostname', /no absolute path/],
    ['a link out', 'escape.yml', /leads outside the repository/],
  ])('refuses %s', (_label, path, message) => {
    expect(() => workspaceFile('configs', path, workspace)).toThrow(ConfigurationError);
    expect(() => workspaceFile('configs', path, workspace)).toThrow(message);
    expect(actionSpelling(() => workspaceFile('configs', path, workspace))).toMatch(/Input "configs"/);
  });
});

describe('max-replicas', () => {
  test('is the policy maximum: 10 by default, raised or lowered by the input, refused outside 1..1000', () => {
    expect(deployOf(read({})).policy.maxReplicas).toBe(10);
    expect(deployOf(read({ 'max-replicas': '24' })).policy.maxReplicas).toBe(24);
    for (const bad of ['0', '1001', 'many', '2.5']) {
      expect(actionSpelling(() => read({ 'max-replicas': bad }))).toMatch(/^Input "max-replicas": /);
    }
  });
});
