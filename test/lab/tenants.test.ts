import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lab/lab.js';
import type { CliIo } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { clientName, connectionFlags, docker, lab } from './support.js';

// The tenant registry on the lab swarm, written and read through the CLI's admin path over SSH.
const client = clientName('tenant');
const work = join(lab.dir, 'work', client);
mkdirSync(work, { recursive: true });
const knownHosts = join(work, 'known_hosts');
writeFileSync(knownHosts, `${lab.ssh.knownHostsLine}\n`);
const keyFile = join(work, 'deploy_key');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lab', '-f', keyFile]);

const connection = connectionFlags(knownHosts);

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { cwd: REPO_ROOT, out: (t) => out.push(t), err: (t) => err.push(t) };
  const code = await main(argv, io);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** The client's tenant configs as the swarm lists them. */
async function tenantConfigs(): Promise<string[]> {
  const names = await docker(
    'config',
    'ls',
    '--filter',
    `label=swarm-deploy.tenant=${client}`,
    '--format',
    '{{.Name}}',
  );
  return names.split('\n').filter(Boolean).sort();
}

afterAll(async () => {
  const left = await tenantConfigs();
  if (left.length > 0) await docker('config', 'rm', ...left);
  rmSync(work, { recursive: true, force: true });
});

describe('the tenant registry on the lab swarm', () => {
  it('set writes the entry, show reads it back, an update replaces it, and the configs are removed', async () => {
    const set = ['platform', 'tenant', 'set', client, '--domain', `${client}.example.com`, '--tier', 'standard'];
    const first = await cli(...set, '--registry', 'localhost:5000', '--key-file', `${keyFile}.pub`, ...connection);
    expect(first.stderr).toMatch(/^Connected to manager \S+ as \S+ \(host key verified\)$/);
    expect(first.code).toBe(0);
    const [v1, ...others] = await tenantConfigs();
    expect(others).toEqual([]);
    expect(v1).toMatch(new RegExp(`^sdt\\.${client}\\.[0-9a-f]{8}$`));
    expect(await docker('config', 'inspect', '--format', '{{json .Spec.Labels}}', v1 as string)).toBe(
      JSON.stringify({ 'swarm-deploy.kind': 'tenant', 'swarm-deploy.tenant': client }),
    );

    const shown = await cli('platform', 'tenant', 'show', client, '--json', ...connection);
    expect(shown.code).toBe(0);
    const entry = (JSON.parse(shown.stdout) as { entry: Record<string, unknown> }).entry;
    expect(entry).toMatchObject({
      client,
      domains: [`${client}.example.com`],
      tier: 'standard',
      policy: 'enforce',
      registries: ['localhost:5000'],
      keys: [expect.stringMatching(/^ssh-ed25519 [A-Za-z0-9+/]+=*$/)],
    });

    const update = await cli(...set, '--tier', 'enterprise', '--max-replicas', '4', ...connection);
    expect(update.code).toBe(0);
    const after = await tenantConfigs();
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(v1);
    expect(update.stdout).toBe(`${client}: written as ${after[0]} (replaces ${v1}).`);
    const again = JSON.parse((await cli('platform', 'tenant', 'show', client, '--json', ...connection)).stdout) as {
      entry: Record<string, unknown>;
    };
    expect(again.entry).toMatchObject({ tier: 'enterprise', maxReplicas: 4, keys: [], registries: [] });

    const listed = await cli('platform', 'tenant', 'list', '--json', ...connection);
    const clients = (JSON.parse(listed.stdout) as { tenants: { client: string }[] }).tenants.map((t) => t.client);
    expect(clients).toContain(client);

    await docker('config', 'rm', ...after);
    expect(await tenantConfigs()).toEqual([]);
    const gone = await cli('platform', 'tenant', 'show', client, ...connection);
    expect(gone.code).toBe(1);
  });

  it('a refused entry changes nothing on the swarm', async () => {
    const refused = await cli(
      'platform',
      'tenant',
      'set',
      client,
      '--domain',
      '*.example.com',
      '--tier',
      'standard',
      ...connection,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--domain');
    expect(await tenantConfigs()).toEqual([]);
  });
});
