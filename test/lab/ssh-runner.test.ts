import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectionError } from '../../src/core/errors.js';
import { MemoryLog } from '../support/memory-log.js';
import { clientName, docker, lab, sshRunner } from './support.js';

const created: string[] = [];
afterAll(async () => {
  for (const name of created) await docker('config', 'rm', name).catch(() => undefined);
});

describe('SSH transport against the lab manager', () => {
  it('runs docker on the swarm manager over one verified connection and reuses it', async () => {
    const log = new MemoryLog();
    const runner = sshRunner(log);
    try {
      const role = await runner.run(['docker', 'info', '--format', '{{.Swarm.ControlAvailable}}']);
      expect(role.stdout.trim()).toBe('true');
      const nodes = await runner.run(['docker', 'node', 'ls', '--format', '{{.Hostname}}']);
      expect(nodes.stdout.trim()).not.toBe('');
      expect(runner.connections).toBe(1);
      expect(log.text()).toMatch(/Connected to manager 127\.0\.0\.1:\d+ .*host key verified/);
    } finally {
      await runner.close();
    }
  });

  it('passes hostile arguments as plain data and stdin as the payload', async () => {
    const runner = sshRunner();
    const name = clientName('quote');
    created.push(name);
    const hostile = `a'b"c $(touch /tmp/pwned-${name}) \`id\`; echo x && echo y\nline2 | cat > /tmp/pwned2-${name}`;
    try {
      const echo = await runner.run(['printf', '%s', hostile]);
      expect(echo.stdout).toBe(hostile);
      await runner.run(['docker', 'config', 'create', '--label', `note=${hostile}`, name, '-'], {
        stdin: 'payload via stdin\n',
      });
      expect(await docker('config', 'inspect', '--format', '{{index .Spec.Labels "note"}}', name)).toBe(hostile.trim());
      const data = await docker('config', 'inspect', '--format', '{{json .Spec.Data}}', name);
      expect(Buffer.from(JSON.parse(data) as string, 'base64').toString()).toBe('payload via stdin\n');
      expect(() => execFileSync('test', ['-e', `/tmp/pwned-${name}`])).toThrow();
      expect(() => execFileSync('test', ['-e', `/tmp/pwned2-${name}`])).toThrow();
    } finally {
      await runner.close();
    }
  });

  it('reports a failing command with its exit code and stderr tail', async () => {
    const runner = sshRunner();
    try {
      await expect(runner.run(['docker', 'service', 'inspect', 'lt-does-not-exist'])).rejects.toThrow(
        /docker service inspect exited with code 1: .*(no such service|not found)/is,
      );
    } finally {
      await runner.close();
    }
  });

  it('refuses a wrong host key before authenticating, and runs nothing', async () => {
    const before = await docker('service', 'ls', '-q');
    const wrong = `[127.0.0.1]:${lab.ssh.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl`;
    const runner = sshRunner(new MemoryLog(), { knownHosts: wrong });
    const attempt = runner.run(['docker', 'service', 'create', '--name', 'lt-should-not-exist', 'x']);
    await expect(attempt).rejects.toBeInstanceOf(ConnectionError);
    await expect(attempt).rejects.toThrow(/HOST KEY MISMATCH .*ssh-keygen -lf/s);
    await runner.close();
    expect(await docker('service', 'ls', '-q')).toBe(before);
  });

  it('refuses a host with no pinned key rather than trusting it on first use', async () => {
    const other = `[10.255.255.1]:22 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl`;
    const runner = sshRunner(new MemoryLog(), { knownHosts: other });
    await expect(runner.run(['true'])).rejects.toThrow(/no known-hosts entry for \[127\.0\.0\.1\]:\d+/);
    await runner.close();
  });

  it('falls through to the next manager only when one is unreachable, and says so', async () => {
    const log = new MemoryLog();
    const knownHosts = `${lab.ssh.knownHostsLine}\n${lab.ssh.knownHostsLine.replace('127.0.0.1', '127.0.0.2')}`;
    // 127.0.0.2 is loopback too but nothing listens on that port there: connection refused.
    const runner = sshRunner(log, {
      knownHosts,
      hosts: [
        { host: '127.0.0.2', port: lab.ssh.port },
        { host: lab.ssh.host, port: lab.ssh.port },
      ],
    });
    try {
      expect((await runner.run(['echo', 'ok'])).stdout.trim()).toBe('ok');
      expect(log.warnings.map((w) => w.message).join('\n')).toMatch(
        /Manager 127\.0\.0\.2:\d+ is unreachable .*trying 127\.0\.0\.1/,
      );
    } finally {
      await runner.close();
    }
  });
});
