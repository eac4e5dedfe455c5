import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppImage, REPO_ROOT } from '../../lab/lab.js';
import type { CliIo } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { readHistory } from '../../src/state/history.js';
import { LocalRunner } from '../../src/core/exec.js';
import { clientName, connectionFlags, docker, lab, removeClient, WEB_STACK, writeStack } from './support.js';

// The operator CLI's main() against the lab over SSH: the same flags an operator types.
const client = clientName('cli');
const run = Date.now().toString(36);
const v1 = buildAppImage(lab, { version: `c1-${run}` });
const v2 = buildAppImage(lab, { version: `c2-${run}` });
const work = join(lab.dir, 'work', client);
mkdirSync(work, { recursive: true });

const stack = writeStack(client, WEB_STACK);

const knownHosts = join(work, 'known_hosts');
writeFileSync(knownHosts, `${lab.ssh.knownHostsLine}\n`);

// A real ed25519 key that is not the lab sshd's host key, pinned for the lab's address.
const otherKey = join(work, 'other_host_key');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'not-the-host', '-f', otherKey]);
const [hostsField = '', typeField = ''] = lab.ssh.knownHostsLine.split(' ');
const wrongKnownHosts = join(work, 'wrong_known_hosts');
writeFileSync(wrongKnownHosts, `${hostsField} ${typeField} ${readFileSync(`${otherKey}.pub`, 'utf8').split(' ')[1]}\n`);
const garbledKnownHosts = join(work, 'garbled_known_hosts');
writeFileSync(garbledKnownHosts, 'this is not a known_hosts line\n');

function connection(known = knownHosts): string[] {
  return connectionFlags(known);
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { cwd: REPO_ROOT, out: (t) => out.push(t), err: (t) => err.push(t) };
  const code = await main(argv, io);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

function json<T>(result: CliRun): T {
  return JSON.parse(result.stdout) as T;
}

const rollout = ['--timeout', '3m', '--stuck-timeout', '30s'];

async function serviceSpec(): Promise<{ image: string; replicas: string; version: string }> {
  const [image = '', replicas = '', version = ''] = (
    await docker(
      'service',
      'inspect',
      '--format',
      '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.Spec.Mode.Replicated.Replicas}} {{.Version.Index}}',
      `${client}_web`,
    )
  ).split(' ');
  return { image, replicas, version };
}

let first: CliRun;

beforeAll(async () => {
  first = await cli(
    'deploy',
    '--client',
    client,
    '--stack-file',
    stack,
    '--image',
    v1,
    '--git-sha',
    'c0ffee1111111',
    '--json',
    ...rollout,
    ...connection(),
  );
}, 240_000);

afterAll(async () => {
  await removeClient(client);
}, 120_000);

describe('the operator CLI against the lab swarm', () => {
  it('deploys, showing progress on stderr and only the JSON result on stdout', () => {
    expect(first.code, first.stderr).toBe(0);
    const result = json<{ status: string; release: string; image: string }>(first);
    expect(result.status).toBe('deployed');
    expect(result.image).toMatch(new RegExp(`c1-${run}@sha256:[0-9a-f]{64}$`));
    expect(first.stderr).toMatch(/Watching .*_web/);
    expect(first.stderr).toMatch(/Released sdl\./);
  });

  it('status lists the client among every client stack, and details it alone', async () => {
    const all = await cli('status', '--json', ...connection());
    expect(all.code, all.stderr).toBe(0);
    const row = json<{ clients: Record<string, unknown>[] }>(all).clients.find((c) => c.client === client);
    expect(row).toMatchObject({
      versions: [`c1-${run}`],
      running: 1,
      desired: 1,
      release: { kind: 'deploy', verdict: 'deployed', gitSha: 'c0ffee1111111' },
    });

    const table = await cli('status', ...connection());
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      new RegExp(`^${client}\\s+c1-${run}\\s+1/1\\s+\\d{8}-\\d{6}-[0-9a-f]{3}\\s+deploy\\s+deployed`, 'm'),
    );

    const one = await cli('status', client, '--json', ...connection());
    expect(one.code, one.stderr).toBe(0);
    const detail = json<{ services: Record<string, unknown>[]; tasks: Record<string, unknown>[] }>(one);
    expect(detail.services).toEqual([
      expect.objectContaining({ name: `${client}_web`, version: `c1-${run}`, running: 1, desired: 1 }),
    ]);
    expect(detail.tasks).toEqual(
      expect.arrayContaining([expect.objectContaining({ service: `${client}_web`, state: 'running' })]),
    );
  });

  it('history lists the release', async () => {
    const result = await cli('history', client, '--json', ...connection());
    expect(result.code, result.stderr).toBe(0);
    const { releases } = json<{ releases: Record<string, unknown>[] }>(result);
    expect(releases).toEqual([
      expect.objectContaining({
        kind: 'deploy',
        verdict: 'deployed',
        gitSha: 'c0ffee1111111',
        actor: expect.any(String),
      }),
    ]);
    const table = await cli('history', client, ...connection());
    expect(table.stdout).toMatch(new RegExp(`deploy\\s+deployed\\s+c0ffee1\\s+c1-${run}`));
  });

  it('scales to 2 then 1 through the watch, recording each as kind scale', async () => {
    const update = await cli(
      'deploy',
      '--client',
      client,
      '--stack-file',
      stack,
      '--image',
      v2,
      '--git-sha',
      'c0ffee2222222',
      ...rollout,
      ...connection(),
    );
    expect(update.code, update.stderr).toBe(0);
    expect(update.stdout).toMatch(/^Deployed release/);

    const up = await cli('scale', client, 'web=2', ...rollout, ...connection());
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/Scaling .*_web from 1 to 2 replicas/);
    expect(up.stderr).toMatch(/Watching .*_web/);
    expect(up.stdout).toMatch(/_web\s+\S+\s+2\/2/);
    expect((await serviceSpec()).replicas).toBe('2');
    expect((await serviceSpec()).image).toContain(`c2-${run}`);
    let history = await readHistory(new LocalRunner(), client);
    expect(history[0]).toMatchObject({ kind: 'scale', verdict: 'deployed', gitSha: 'c0ffee2222222' });
    expect(history[0]?.replicas[`${client}_web`]).toBe(2);

    const down = await cli('scale', client, `${client}_web=1`, '--json', ...rollout, ...connection());
    expect(down.code, down.stderr).toBe(0);
    expect(json<{ status: string; replicas: number }>(down)).toMatchObject({ status: 'deployed', replicas: 1 });
    expect((await serviceSpec()).replicas).toBe('1');
    history = await readHistory(new LocalRunner(), client);
    expect(history.slice(0, 2).map((r) => r.kind)).toEqual(['scale', 'scale']);
    expect(history[0]?.replicas[`${client}_web`]).toBe(1);

    // The count that already runs: answered from one read, nothing taken, changed or recorded.
    const version = (await docker('service', 'inspect', '--format', '{{.Version.Index}}', `${client}_web`)).trim();
    const same = await cli('scale', client, 'web=1', '--json', ...rollout, ...connection());
    expect(same.code, same.stderr).toBe(0);
    expect(json<{ status: string; replicas: number }>(same)).toMatchObject({ status: 'unchanged', replicas: 1 });
    expect((await readHistory(new LocalRunner(), client)).map((r) => r.id)).toEqual(history.map((r) => r.id));
    expect((await docker('service', 'inspect', '--format', '{{.Version.Index}}', `${client}_web`)).trim()).toBe(
      version,
    );

    const status = await cli('status', client, ...connection());
    expect(status.stdout).toMatch(/\(scale, deployed\)/);
  }, 240_000);

  it('refuses to scale a service outside the stack or beyond 100 replicas, changing nothing', async () => {
    const before = await serviceSpec();
    const count = (await readHistory(new LocalRunner(), client)).length;
    const missing = await cli('scale', client, 'db=2', ...connection());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/"db" is not a service of/);
    const tooMany = await cli('scale', client, 'web=101', ...connection());
    expect(tooMany.code).toBe(2);
    expect(await serviceSpec()).toEqual(before);
    expect(await readHistory(new LocalRunner(), client)).toHaveLength(count);
  });

  it('rolls back to the previous release', async () => {
    const back = await cli('rollback', client, '--json', ...rollout, ...connection());
    expect(back.code, back.stderr).toBe(0);
    expect(json<{ status: string; restored: string }>(back).status).toBe('deployed');
    expect((await serviceSpec()).image).toContain(`c1-${run}`);
    const latest = (await readHistory(new LocalRunner(), client))[0];
    expect(latest).toMatchObject({ kind: 'rollback', verdict: 'deployed', gitSha: 'c0ffee1111111' });
  }, 240_000);

  it('holds deploys for maintenance: a deploy is refused with exit 1 until the hold is released', async () => {
    const hold = await cli('lock', client, 'hold', '--message', 'disk swap', ...connection());
    expect(hold.code, hold.stderr).toBe(0);
    const shown = await cli('lock', client, 'show', '--json', ...connection());
    expect(json<{ lock: Record<string, unknown> }>(shown).lock).toMatchObject({
      kind: 'maintenance',
      message: 'disk swap',
    });
    const before = await serviceSpec();
    const refused = await cli('deploy', '--client', client, '--stack-file', stack, '--image', v2, ...connection());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/on hold.*disk swap/);
    expect(await serviceSpec()).toEqual(before);
    const release = await cli('lock', client, 'release', ...connection());
    expect(release.code, release.stderr).toBe(0);
    expect((await cli('lock', client, 'show', ...connection())).stdout).toBe(`${client}: not locked`);
  }, 120_000);

  it('refuses a manager whose host key is not the pinned one, changing nothing', async () => {
    const before = await serviceSpec();
    const count = (await readHistory(new LocalRunner(), client)).length;
    const wrong = await cli(
      'deploy',
      '--client',
      client,
      '--stack-file',
      stack,
      '--image',
      v2,
      ...connection(wrongKnownHosts),
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/host key/i);
    const status = await cli('status', '--json', ...connection(wrongKnownHosts));
    expect(status.code).toBe(1);
    expect(status.stdout).toBe('');
    const garbled = await cli('status', ...connection(garbledKnownHosts));
    expect(garbled.code).toBe(2);
    expect(garbled.stderr).toMatch(/--known-hosts/);
    expect(await serviceSpec()).toEqual(before);
    expect(await readHistory(new LocalRunner(), client)).toHaveLength(count);
  }, 60_000);
});
