import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppImage, ed25519Key, freePort, loopbackKnownHostsLine, startLoopbackSshd } from '../../lab/lab.js';
import { ConnectionError } from '../../src/core/errors.js';
import { fingerprintOf, parseKnownHosts } from '../../src/transport/known-hosts.js';
import { SshRunner, type SshTarget } from '../../src/transport/ssh.js';
import { MemoryLog } from '../support/memory-log.js';
import { CutProxy } from './cut-proxy.js';
import { runActionStep } from '../../lab/runner/action-host.js';
import {
  actionRun,
  capture,
  clientName,
  docker,
  lab,
  privateKey,
  recordSecrets,
  removeClient,
  sshInputs,
  WEB_STACK,
} from './support.js';

/*
 * A manager reached through a jump host. The bastion is a second sshd started here, on loopback,
 * with its own host key and port, letting the lab's user forward to the manager and nothing else.
 * The manager is the lab's sshd behind a loopback proxy that counts the connections reaching it
 * (and cuts them on demand): only this test's connections pass through it, so "nothing reached the
 * manager" is measured without racing other users of the lab's sshd.
 */

const client = clientName('jump');
const work = join(lab.dir, 'work', client);
mkdirSync(work, { recursive: true, mode: 0o700 });

// The bastion's host key, and a key of its own for the deploy user (the jump-ssh-key case).
const bastionHostKey = join(work, 'bastion_host_ed25519');
const bastionUserKey = join(work, 'bastion_user_ed25519');
const impostorHostKey = join(work, 'impostor_host_ed25519');
ed25519Key(bastionHostKey, 'lt-bastion-host');
ed25519Key(bastionUserKey, 'lt-bastion-user');
ed25519Key(impostorHostKey, 'lt-not-the-bastion');
const bastionKey = readFileSync(bastionUserKey, 'utf8');
const authorizedKeys = join(work, 'bastion_authorized_keys');
writeFileSync(
  authorizedKeys,
  readFileSync(`${lab.ssh.privateKeyPath}.pub`, 'utf8') + readFileSync(`${bastionUserKey}.pub`, 'utf8'),
);

let manager: CutProxy;
let bastionPort: number;
let bastionPid: number | undefined;
const bastionLog = join(work, 'bastion.log');

/** The manager's pinned key: the lab sshd's, under the proxy's address (the one the bastion connects to). */
function managerLine(): string {
  return lab.ssh.knownHostsLine.replace(`]:${lab.ssh.port} `, `]:${manager.port} `);
}

/** The pinned keys of both hops: the bastion's and the manager's. */
function knownHosts(bastionKeyFile = bastionHostKey, managerPin = managerLine()): string {
  return `${loopbackKnownHostsLine(bastionKeyFile, bastionPort)}\n${managerPin}\n`;
}

function runner(log: MemoryLog, overrides: Partial<SshTarget> & { knownHostsText?: string } = {}): SshRunner {
  const { knownHostsText, ...rest } = overrides;
  return new SshRunner(
    {
      hosts: [{ host: '127.0.0.1', port: manager.port }],
      user: lab.ssh.user,
      privateKey,
      jump: { host: '127.0.0.1', port: bastionPort, user: lab.ssh.user },
      knownHosts: parseKnownHosts(knownHostsText ?? knownHosts()),
      readyTimeoutMs: 10_000,
      reconnectWithinMs: 30_000,
      ...rest,
    },
    log,
  );
}

/** Lines of the bastion's log that show a login attempt (any key offered, accepted or not). */
function bastionLogins(): string[] {
  return readFileSync(bastionLog, 'utf8')
    .split('\n')
    .filter((line) => /publickey|Accepted key|Failed/i.test(line));
}

beforeAll(async () => {
  await recordSecrets({ 'jump-ssh-key': bastionKey });
  manager = await CutProxy.start({ host: lab.ssh.host, port: lab.ssh.port });
  bastionPort = await freePort();
  bastionPid = await startLoopbackSshd({
    config: join(work, 'bastion_sshd_config'),
    port: bastionPort,
    hostKey: bastionHostKey,
    authorizedKeys,
    pidFile: join(work, 'bastion.pid'),
    logPath: bastionLog,
    outPath: join(work, 'bastion.out'),
    extra: [
      `AllowUsers ${lab.ssh.user}`,
      'AllowTcpForwarding yes',
      // A bastion forwards to the managers and runs nothing itself.
      `PermitOpen 127.0.0.1:${manager.port}`,
      'ForceCommand /bin/false',
      'PermitTTY no',
      'X11Forwarding no',
    ],
  });
}, 60_000);

afterAll(async () => {
  if (bastionPid !== undefined) process.kill(bastionPid, 'SIGTERM');
  await manager?.close();
  await removeClient(client);
}, 120_000);

describe('a manager behind a jump host, host keys pinned on both hops', () => {
  it('runs docker on the manager through the bastion, one connection, both keys checked', async () => {
    const log = new MemoryLog();
    const ssh = runner(log);
    try {
      const role = await ssh.run(['docker', 'info', '--format', '{{.Swarm.ControlAvailable}}']);
      expect(role.stdout.trim()).toBe('true');
      await ssh.run(['true']);
      expect(ssh.connections).toBe(1);
      expect(manager.accepted).toBe(1);
      expect(log.text()).toMatch(
        new RegExp(
          `Connected to manager 127\\.0\\.0\\.1:${manager.port} through jump host 127\\.0\\.0\\.1:${bastionPort} .*host keys verified`,
        ),
      );
    } finally {
      await ssh.close();
    }
  });

  it('refuses a bastion whose host key is not the pinned one before logging in, and never reaches the manager', async () => {
    const before = { manager: manager.accepted, logins: bastionLogins().length };
    const ssh = runner(new MemoryLog(), { knownHostsText: knownHosts(impostorHostKey) });
    const attempt = ssh.run(['docker', 'service', 'create', '--name', `${client}-never`, 'x']);
    await expect(attempt).rejects.toBeInstanceOf(ConnectionError);
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `^Refusing jump host 127\\.0\\.0\\.1:${bastionPort}: HOST KEY MISMATCH for \\[127\\.0\\.0\\.1\\]:${bastionPort}`,
      ),
    );
    await ssh.close();
    expect(manager.accepted).toBe(before.manager);
    expect(bastionLogins().length).toBe(before.logins);
    expect(await docker('service', 'ls', '-q', '--filter', `name=${client}-never`)).toBe('');
  });

  it('refuses a bastion with no pinned key at all (never trusted on first use)', async () => {
    const before = manager.accepted;
    const ssh = runner(new MemoryLog(), { knownHostsText: managerLine() });
    await expect(ssh.run(['true'])).rejects.toThrow(
      /^Refusing jump host .*no known-hosts entry for \[127\.0\.0\.1\]:\d+/,
    );
    await ssh.close();
    expect(manager.accepted).toBe(before);
  });

  it('refuses a wrong manager key behind a right bastion, naming the manager, and runs nothing', async () => {
    const wrongManager = loopbackKnownHostsLine(impostorHostKey, manager.port);
    const ssh = runner(new MemoryLog(), { knownHostsText: knownHosts(bastionHostKey, wrongManager) });
    const attempt = ssh.run(['docker', 'service', 'create', '--name', `${client}-never`, 'x']);
    await expect(attempt).rejects.toThrow(new RegExp(`^HOST KEY MISMATCH for \\[127\\.0\\.0\\.1\\]:${manager.port}`));
    await ssh.close();
    expect(await docker('service', 'ls', '-q', '--filter', `name=${client}-never`)).toBe('');
  });

  it('reconnects through both hops when the manager connection drops, checking both keys again', async () => {
    const log = new MemoryLog();
    const ssh = runner(log);
    try {
      await ssh.run(['true']);
      const logins = bastionLogins().length;
      manager.cut();
      const after = await ssh.run(['docker', 'info', '--format', '{{.Swarm.ControlAvailable}}']);
      expect(after.stdout.trim()).toBe('true');
      expect(ssh.connections).toBe(2);
      expect(bastionLogins().length).toBeGreaterThan(logins);
      expect(log.text()).toMatch(/Reconnected to manager .* through jump host .*host keys verified/);
    } finally {
      await ssh.close();
    }
  });

  it('deploys with the swarm-deploy action through jump-host, the bastion logging in with jump-ssh-key', async () => {
    const image = buildAppImage(lab, { version: `jump-${Date.now().toString(36)}` });
    // The stack sits in this test's own workspace (the lab's directory may lie outside the checkout).
    writeFileSync(join(work, 'stack.yml'), WEB_STACK);
    const inputs = {
      ...sshInputs(),
      host: '127.0.0.1',
      port: String(manager.port),
      'known-hosts': knownHosts(),
      'jump-host': `${lab.ssh.user}@127.0.0.1:${bastionPort}`,
      'jump-ssh-key': bastionKey,
      client,
      'stack-file': 'stack.yml',
      image,
      timeout: '3m',
    };
    const result = actionRun(
      await runActionStep({
        action: '.',
        with: inputs,
        secrets: [privateKey, bastionKey],
        workspace: work,
        timeoutMs: 6 * 60_000,
      }),
    );
    capture('jump deploy', [result.log.text(), ...result.outputs.values(), result.failure ?? ''].join('\n'));
    expect(result.failure).toBeUndefined();
    expect(result.outputs.get('status')).toBe('deployed');
    expect(result.log.text()).toMatch(/through jump host 127\.0\.0\.1:\d+/);
    expect(result.log.text()).not.toContain(bastionKey.trim().split('\n')[1]);
    expect(
      await docker('service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', `${client}_web`),
    ).toContain(image.split(':').at(-1));
    // The bastion let in its own key (jump-ssh-key), not the managers' key.
    const blob = (path: string) => Buffer.from(readFileSync(path, 'utf8').split(' ')[1] ?? '', 'base64');
    const accepted = readFileSync(bastionLog, 'utf8')
      .split('\n')
      .filter((line) => line.includes('Accepted publickey'));
    expect(accepted.at(-1)).toContain(fingerprintOf(blob(`${bastionUserKey}.pub`)));
    expect(accepted.at(-1)).not.toContain(fingerprintOf(blob(`${lab.ssh.privateKeyPath}.pub`)));
  }, 300_000);
});
