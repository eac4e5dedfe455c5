import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppImage } from '../../lab/lab.js';
import { action as notifyDiscord } from '../../src/actions/notify-discord/main.js';
import { runActionStep } from '../../lab/runner/action-host.js';
import { runActionInProcess } from '../support/action-harness.js';
import {
  actionRun,
  capture,
  clientName,
  deployStep,
  docker,
  freePort,
  lab,
  local,
  privateKey,
  recordSecrets,
  removeClient,
  sshInputs,
  writeStack,
  type ActionRun,
} from './support.js';

/*
 * Fault drills: each breaks one thing a real deploy meets (the SSH link, a manager, registry
 * credentials, placement, Discord, the runner itself) and checks the step still tells the truth.
 */

const run = Date.now().toString(36);
const v1 = buildAppImage(lab, { version: `d1-${run}` });
const v2 = buildAppImage(lab, { version: `d2-${run}` });
const v3 = buildAppImage(lab, { version: `d3-${run}` });

const stackText = (extra = '') => `services:
  web:
    image: \${IMAGE}
    deploy:
      replicas: 1
${extra}      update_config:
        monitor: 4s
      rollback_config:
        monitor: 4s
`;

const clients: string[] = [];
function newClient(label: string): string {
  const client = clientName(label);
  clients.push(client);
  return client;
}

afterAll(async () => {
  for (const client of clients) await removeClient(client);
}, 300_000);

function inputsFor(client: string, stack: string, extra: Record<string, string>): Record<string, string> {
  return { ...sshInputs(), client, 'stack-file': stack, timeout: '2m', 'stuck-timeout': '30s', ...extra };
}

async function serviceImage(service: string): Promise<string> {
  return docker('service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', service);
}

/** Local ports of this process's TCP connections to the lab's sshd (from /proc, by socket inode). */
function ownPortsToSshd(): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (!f[1] || !f[2] || !f[9] || !inodes.has(f[9])) continue;
    if (parseInt(f[2].split(':')[1] ?? '', 16) === lab.ssh.port) ports.add(parseInt(f[1].split(':')[1] ?? '', 16));
  }
  return ports;
}

/**
 * The per-connection sshd child serving one of our connections: a child of the lab's sshd that
 * holds the server side of a socket whose peer port is ours. Other lab users' sessions are never
 * touched.
 */
function sshdChildServing(ports: Set<number>): number | undefined {
  const listener = Number(readFileSync(join(lab.dir, 'sshd.pid'), 'utf8').trim());
  const serverSide = new Map<string, number>(); // inode → our peer port
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (!f[1] || !f[2] || !f[9]) continue;
    const localPort = parseInt(f[1].split(':')[1] ?? '', 16);
    const peerPort = parseInt(f[2].split(':')[1] ?? '', 16);
    if (localPort === lab.ssh.port && ports.has(peerPort)) serverSide.set(f[9], peerPort);
  }
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== listener) continue;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1] && serverSide.has(m[1])) return Number(pid);
      }
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await fn();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('fault drills on the lab', () => {
  it('the SSH connection dies mid-watch: the step reconnects and still reports the right verdict', async () => {
    const client = newClient('drill-ssh');
    const stack = writeStack(client, stackText());
    const first = await deployStep(inputsFor(client, stack, { image: v1 }));
    expect(first.failure, first.log.text()).toBeUndefined();

    const before = ownPortsToSshd();
    // In this process: the drill finds the step's SSH socket among its own file descriptors.
    const pending = deployStep(inputsFor(client, stack, { image: v2 }), { inProcess: true });
    // Mid-watch: Swarm is updating the service and our connection is up.
    const victim = await until(
      'the rolling update and our sshd child',
      async () => {
        const state = await docker('service', 'inspect', '--format', '{{.UpdateStatus.State}}', `${client}_web`).catch(
          () => '',
        );
        if (state !== 'updating') return undefined;
        const ours = new Set([...ownPortsToSshd()].filter((p) => !before.has(p)));
        return ours.size ? sshdChildServing(ours) : undefined;
      },
      90_000,
    );
    process.kill(victim, 'SIGKILL');
    const result = await pending;
    expect(result.failure, result.log.text()).toBeUndefined();
    expect(result.outputs.get('status')).toBe('deployed');
    expect(result.log.warnings.map((w) => w.message).join('\n')).toMatch(/connection to .* was lost; reconnecting/);
    expect(result.log.text()).toMatch(/Reconnected to manager/);
    expect(await serviceImage(`${client}_web`)).toContain(`d2-${run}`);
  });

  it('the first manager is unreachable: the next one is used, and the log says so', async () => {
    const client = newClient('drill-host');
    const stack = writeStack(client, stackText());
    const result = await deployStep(
      inputsFor(client, stack, { image: v1, host: `127.0.0.2:${lab.ssh.port}, ${lab.ssh.host}:${lab.ssh.port}` }),
    );
    expect(result.failure, result.log.text()).toBeUndefined();
    expect(result.outputs.get('status')).toBe('deployed');
    const warnings = result.log.warnings.map((w) => w.message).join('\n');
    expect(warnings).toMatch(
      new RegExp(`Manager 127\\.0\\.0\\.2:${lab.ssh.port} is unreachable .*trying 127\\.0\\.0\\.1:${lab.ssh.port}`),
    );
    expect(result.log.text()).toMatch(new RegExp(`Connected to manager 127\\.0\\.0\\.1:${lab.ssh.port}`));
  });

  describe('registry credentials missing on the manager', () => {
    const password = randomBytes(24).toString('base64url');
    let work: string;
    let registryPid: number | undefined;
    let registry: string;

    beforeAll(async () => {
      await recordSecrets({ 'drill registry password': password });
      work = mkdtempSync(join(tmpdir(), 'lt-drill-registry-'));
      registry = `127.0.0.1:${await freePort()}`;
      const htpasswd = await local.run(['htpasswd', '-niB', 'drill'], { stdin: password });
      writeFileSync(join(work, 'htpasswd'), htpasswd.stdout);
      writeFileSync(
        join(work, 'config.yml'),
        [
          'version: 0.1',
          'log: { level: warn }',
          `storage: { filesystem: { rootdirectory: ${join(work, 'storage')} } }`,
          `http: { addr: ${registry} }`,
          `auth: { htpasswd: { realm: lt-drill, path: ${join(work, 'htpasswd')} } }`,
          '',
        ].join('\n'),
      );
      const out = openSync(join(work, 'registry.log'), 'a');
      const child = spawn('/usr/bin/docker-registry', ['serve', join(work, 'config.yml')], {
        detached: true,
        stdio: ['ignore', out, out],
      });
      closeSync(out);
      child.unref();
      registryPid = child.pid;
      await until(
        'the authenticated registry',
        async () => ((await fetch(`http://${registry}/v2/`).catch(() => undefined))?.status === 401 ? true : undefined),
        30_000,
      );
    }, 120_000);

    afterAll(() => {
      if (registryPid) process.kill(registryPid, 'SIGTERM');
      rmSync(work, { recursive: true, force: true });
    });

    it('deploying a private image without registry credentials names the reason and rolls back', async () => {
      const client = newClient('drill-auth');
      const stack = writeStack(client, stackText());
      const first = await deployStep(inputsFor(client, stack, { image: v1 }));
      expect(first.failure, first.log.text()).toBeUndefined();

      // Push a fresh tag with a private docker config, then drop it locally: the node must pull it.
      const image = `${registry}/lt-drill/app:${run}-${randomBytes(3).toString('hex')}`;
      const config = join(work, 'docker-config');
      await local.run(['docker', 'tag', v3, image]);
      await local.run(
        ['env', `DOCKER_CONFIG=${config}`, 'docker', 'login', '-u', 'drill', '--password-stdin', registry],
        {
          stdin: `${password}\n`,
        },
      );
      await local.run(['env', `DOCKER_CONFIG=${config}`, 'docker', 'push', image]);
      await local.run(['docker', 'rmi', image]);
      rmSync(config, { recursive: true, force: true });

      const result = await deployStep(inputsFor(client, stack, { image }));
      expect(result.outputs.get('status'), result.log.text()).toBe('rolled-back');
      expect(result.failure).toMatch(/No such image|no basic auth credentials/i);
      expect(await serviceImage(`${client}_web`)).toContain(`d1-${run}`);
    });
  });

  it('a service stuck pending is detected as stuck well before the timeout and rolled back', async () => {
    const client = newClient('drill-stuck');
    const secret = randomBytes(18).toString('base64url');
    await recordSecrets({ 'drill stack secret': secret });
    const good = writeStack(
      client,
      `services:
  web:
    image: \${IMAGE}
    secrets: [api_key]
    deploy:
      replicas: 1
      update_config:
        monitor: 4s
      rollback_config:
        monitor: 4s
secrets:
  api_key: {}
`,
      'good.yml',
    );
    const first = await deployStep(inputsFor(client, good, { image: v1, secrets: `api_key=${secret}` }));
    expect(first.failure, first.log.text()).toBeUndefined();

    const stuck = writeStack(
      client,
      `services:
  web:
    image: \${IMAGE}
    secrets: [api_key]
    deploy:
      replicas: 1
      placement:
        constraints: ["node.labels.lt-none == yes"]
      update_config:
        monitor: 4s
      rollback_config:
        monitor: 4s
secrets:
  api_key: {}
`,
      'stuck.yml',
    );
    const started = Date.now();
    const result = await deployStep(
      inputsFor(client, stuck, { image: v2, secrets: `api_key=${secret}`, 'stuck-timeout': '10s', timeout: '2m' }),
    );
    const took = Date.now() - started;
    expect(result.outputs.get('status'), result.log.text()).toBe('rolled-back');
    expect(result.failure).toMatch(/stuck pending/);
    expect(took).toBeLessThan(60_000);
    expect(await serviceImage(`${client}_web`)).toContain(`d1-${run}`);
    expect(
      await docker('service', 'inspect', '--format', '{{.Spec.TaskTemplate.Placement.Constraints}}', `${client}_web`),
    ).not.toContain('lt-none');
  });

  describe('Discord unreachable or answering 500', () => {
    let server: Server;
    let port: number;
    let requests = 0;
    const token = `lt${randomBytes(30).toString('base64url')}`;
    beforeAll(async () => {
      await recordSecrets({ 'drill webhook token': token });
      server = createServer((request, response) => {
        requests += 1;
        request.resume();
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end('{"message": "500: Internal Server Error", "code": 0}');
      });
      port = await freePort();
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    async function notify(url: string, deployed: ActionRun): Promise<ActionRun> {
      const result = await runActionInProcess({
        action: 'actions/notify-discord',
        with: {
          'webhook-url': url,
          status: deployed.outputs.get('status') === 'deployed' ? 'success' : 'failure',
          client: 'lt-drill',
          reason: deployed.failure ?? '',
        },
        secrets: [url],
        run: () => notifyDiscord.main({ deps: { deadlineMs: 4000 } }),
      });
      const notified = actionRun(result);
      capture('notify-discord', [notified.log.text(), ...notified.outputs.values(), notified.failure ?? ''].join('\n'));
      return notified;
    }

    it('the deploy verdict is unchanged and the notification is a warning', async () => {
      const client = newClient('drill-discord');
      const stack = writeStack(client, stackText());
      const deployed = await deployStep(inputsFor(client, stack, { image: v1 }));
      expect(deployed.outputs.get('status')).toBe('deployed');
      const verdict = new Map(deployed.outputs);

      const closed = await freePort();
      for (const url of [
        `http://127.0.0.1:${closed}/api/webhooks/123456789012345678/${token}`,
        `http://127.0.0.1:${port}/api/webhooks/123456789012345678/${token}`,
      ]) {
        const notified = await notify(url, deployed);
        expect(notified.failure).toBeUndefined();
        expect(notified.log.warnings.map((w) => w.message).join('\n')).toMatch(/Discord notification failed/);
        expect(notified.log.text()).not.toContain(token);
        expect(deployed.outputs).toEqual(verdict);
      }
      expect(requests).toBeGreaterThan(0);
      expect(await serviceImage(`${client}_web`)).toContain(`d1-${run}`);
    });
  });

  it('the runner killed while holding the deploy lock: the next deploy takes the lock over after its expiry', async () => {
    const client = newClient('drill-kill');
    const stack = writeStack(client, stackText());
    const first = await deployStep(inputsFor(client, stack, { image: v1 }));
    expect(first.failure, first.log.text()).toBeUndefined();

    // The runner dies (SIGKILL, no post step) while the step holds the lock and watches the rollout.
    const vanish = new AbortController();
    const killed = await runActionStep({
      action: '.',
      with: inputsFor(client, stack, { image: v2, 'lock-expiry': '15s' }),
      secrets: [privateKey],
      kill: vanish.signal,
      timeoutMs: 120_000,
      onLine: (line) => {
        if (line.startsWith('Watching')) vanish.abort();
      },
    });
    capture('killed deploy step', killed.log.join('\n'));
    expect(killed.outcome, killed.log.join('\n')).toBe('cancelled');
    expect(await docker('config', 'ls', '--filter', `name=sdl.${client}`, '--format', '{{.Name}}')).toBe(
      `sdl.${client}`,
    );

    const started = Date.now();
    const next = await deployStep(inputsFor(client, stack, { image: v3, 'lock-timeout': '90s' }));
    expect(next.failure, next.log.text()).toBeUndefined();
    expect(next.outputs.get('status')).toBe('deployed');
    expect(next.log.warnings.map((w) => w.message).join('\n')).toMatch(/Taking over the expired deploy lock/);
    expect(Date.now() - started).toBeLessThan(90_000);
    expect(await serviceImage(`${client}_web`)).toContain(`d3-${run}`);
  });
});
