/**
 * The gate on the lab's manager, installed by hand as docs/security.md describes, for a throwaway
 * key: one `restrict,command="…"` line in the lab sshd's authorized_keys. The lab sshd runs as
 * root, so here the forced command runs the gate bundle directly (as root) instead of through
 * `sudo -u swarm-gate`; the binding it proves is the gate's own. The client's entry is written to
 * the platform's tenant registry in the swarm, by the admin path, as `platform tenant set` does.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppImage, REPO_ROOT } from '../../lab/lab.js';
import { LocalRunner } from '../../src/core/exec.js';
import { writeTenant } from '../../src/state/tenants.js';
import { parseKnownHosts } from '../../src/transport/known-hosts.js';
import { SshRunner } from '../../src/transport/ssh.js';
import { MemoryLog } from '../support/memory-log.js';
import { clientName, deployStep, docker, lab, removeClient, sshInputs, WEB_STACK } from './support.js';

const client = clientName('gate');
const other = clientName('gate-other');
const image = buildAppImage(lab, { version: `gate-${Date.now().toString(36)}` });
// The stack file lies inside the repository the action reads (the lab's own folder may be elsewhere).
const workDir = join(REPO_ROOT, '.lab', 'gate-work', client);
mkdirSync(workDir, { recursive: true });
writeFileSync(join(workDir, 'stack.yml'), WEB_STACK);
const stack = relative(REPO_ROOT, join(workDir, 'stack.yml'));
const scratchDir = mkdtempSync(join(tmpdir(), 'sd-gate-'));
const authorizedKeys = join(lab.dir, 'ssh', 'authorized_keys');
let key = '';
let publicKey = '';

function gateInputs(extra: Record<string, string> = {}): Record<string, string> {
  return { ...sshInputs(), 'ssh-key': key, via: 'gate', client, 'stack-file': stack, image, timeout: '3m', ...extra };
}

/** A connection with the tenant's key, for commands the key should not be able to run. */
function tenantRunner(): SshRunner {
  return new SshRunner(
    {
      hosts: [{ host: lab.ssh.host, port: lab.ssh.port }],
      user: lab.ssh.user,
      privateKey: key,
      knownHosts: parseKnownHosts(lab.ssh.knownHostsLine),
      readyTimeoutMs: 5000,
    },
    new MemoryLog(),
  );
}

async function stackNames(): Promise<string[]> {
  return (await docker('stack', 'ls', '--format', '{{.Name}}')).split('\n').filter(Boolean);
}

beforeAll(async () => {
  const keyPath = join(scratchDir, 'tenant_key');
  const made = spawnSync('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    `swarm-deploy:${client}`,
    '-f',
    keyPath,
  ]);
  expect(made.status).toBe(0);
  key = readFileSync(keyPath, 'utf8');
  publicKey = readFileSync(`${keyPath}.pub`, 'utf8').trim();
  await writeTenant(new LocalRunner(), {
    client,
    domains: [],
    tier: 'standard',
    policy: 'enforce',
    maxReplicas: 3,
    publishPorts: false,
    managerPlacement: false,
    registries: [lab.registry],
    keys: [publicKey.split(' ').slice(0, 2).join(' ')],
    subjects: [],
  });
  const gate = join(REPO_ROOT, 'dist', 'gate', 'index.js');
  const command = `${process.execPath} ${gate} --client ${client}`;
  writeFileSync(
    authorizedKeys,
    `${readFileSync(authorizedKeys, 'utf8').trimEnd()}\nrestrict,command="${command}" ${publicKey}\n`,
  );
});

afterAll(async () => {
  // Only this test's line goes; the lab's own key and any other test's line stay.
  const kept = readFileSync(authorizedKeys, 'utf8')
    .split('\n')
    .filter((line) => publicKey === '' || !line.includes(publicKey));
  writeFileSync(authorizedKeys, kept.join('\n'));
  rmSync(scratchDir, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
  await removeClient(client);
  await removeClient(other);
  await docker('network', 'rm', `${client}-net`).catch(() => undefined);
}, 120_000);

describe('the gate behind a forced command on the lab manager', () => {
  it('deploys its own client, and the action reports as it does when it runs docker itself', async () => {
    const run = await deployStep(gateInputs());
    expect(run.failure).toBeUndefined();
    expect(run.outputs.get('status')).toBe('deployed');
    expect(run.outputs.get('release')).toMatch(/^\d{8}-\d{6}-[0-9a-f]{3}$/);
    expect(JSON.parse(run.outputs.get('services') ?? '[]')).toEqual([
      expect.objectContaining({ name: `${client}_web`, running: 1, desired: 1 }),
    ]);
    expect(await docker('service', 'inspect', '--format', '{{.Spec.Name}}', `${client}_web`)).toBe(`${client}_web`);
  }, 240_000);

  it('refuses the same key asking for another client, and nothing changes on the swarm', async () => {
    const before = await stackNames();
    const run = await deployStep(gateInputs({ client: other }));
    expect(run.failure).toBe(`Configuration error: Input "client": this key deploys ${client} only, not "${other}"`);
    expect(run.outputs.get('status')).toBe('failed');
    expect(await stackNames()).toEqual(before);
    expect(before).not.toContain(other);
  }, 120_000);

  it('refuses a policy input the registry does not allow, before anything runs', async () => {
    const run = await deployStep(gateInputs({ policy: 'warn' }));
    expect(run.failure).toMatch(/^Configuration error: Input "policy": the platform enforces the policy/);
  }, 120_000);

  it('runs no other command: the forced command runs instead', async () => {
    const runner = tenantRunner();
    try {
      for (const argv of [
        ['docker', 'ps'],
        ['sh', '-c', 'id'],
        ['cat', '/etc/shadow'],
      ]) {
        const result = await runner.run(argv, { allowFailure: true });
        expect(result.stdout).not.toMatch(/CONTAINER ID|uid=|root:/);
        const lines = result.stdout.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0] ?? '')).toMatchObject({
          t: 'end',
          failure: expect.stringMatching(/^The gate refused the request: the request is not JSON/),
        });
        expect(result.code).toBe(2);
      }
    } finally {
      await runner.close();
    }
  }, 60_000);
});
