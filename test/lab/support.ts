import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { labInfo, type LabInfo } from '../../lab/lab.js';
import { MemoryLog } from '../../src/core/log.js';
import { parseKnownHosts } from '../../src/swarm/known-hosts.js';
import { LocalRunner } from '../../src/swarm/runner.js';
import { SshRunner } from '../../src/swarm/ssh.js';

export const lab: LabInfo = labInfo();
export const privateKey = readFileSync(lab.ssh.privateKeyPath, 'utf8');

/** A unique client name for one test, so lab tests can share the swarm. */
export function clientName(label: string): string {
  return `lt-${label}-${randomBytes(3).toString('hex')}`;
}

export function sshRunner(
  log = new MemoryLog(),
  overrides: { knownHosts?: string; hosts?: { host: string; port: number }[] } = {},
) {
  return new SshRunner(
    {
      hosts: overrides.hosts ?? [{ host: lab.ssh.host, port: lab.ssh.port }],
      user: lab.ssh.user,
      privateKey,
      knownHosts: parseKnownHosts(overrides.knownHosts ?? lab.ssh.knownHostsLine),
      readyTimeoutMs: 5000,
    },
    log,
  );
}

/** Direct access to the local docker for assertions (what the test checks, not what it tests). */
export const local = new LocalRunner();

export async function docker(...args: string[]): Promise<string> {
  return (await local.run(['docker', ...args])).stdout.trim();
}
