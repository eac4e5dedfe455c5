/**
 * What every benchmark needs from the lab: the SSH target as the action would build it from its
 * inputs, an OpenSSH client command line for the baselines, and the swarm's view of a service
 * read locally (what the benchmark checks, not what it measures).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { labInfo, REPO_ROOT, type LabInfo } from '../lab/lab.js';
import { Inputs, mapInputs } from '../src/core/inputs.js';
import { MemoryLog } from '../test/support/memory-log.js';
import { readDeploySettings, type DeploySettings } from '../src/rollout/settings.js';
import { commandLine } from '../src/transport/quote.js';
import { LocalRunner } from '../src/core/exec.js';

export const lab: LabInfo = labInfo();
export const local = new LocalRunner();
export const privateKey = readFileSync(lab.ssh.privateKeyPath, 'utf8');

const benchDir = join(lab.dir, 'bench');
mkdirSync(benchDir, { recursive: true });
const knownHostsFile = join(benchDir, 'known_hosts');
writeFileSync(knownHostsFile, `${lab.ssh.knownHostsLine}\n`);

/** The action's inputs that reach the lab's manager over SSH. */
export function sshInputs(): Record<string, string> {
  return {
    host: lab.ssh.host,
    port: String(lab.ssh.port),
    user: lab.ssh.user,
    'ssh-key': privateKey,
    'known-hosts': lab.ssh.knownHostsLine,
  };
}

/** Write a stack file inside the repository (the action refuses paths outside it); returns its relative path. */
export function writeStackFile(client: string, text: string): string {
  const dir = join(lab.dir, 'work', client);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stack.yml'), text);
  return relative(REPO_ROOT, join(dir, 'stack.yml'));
}

/** Settings exactly as the swarm-deploy action reads them from its inputs. */
export function settingsFor(inputs: Record<string, string>): DeploySettings {
  const log = new MemoryLog();
  return readDeploySettings(new Inputs(mapInputs({ ...sshInputs(), ...inputs }), (v) => log.mask(v)), {
    ...process.env,
    GITHUB_WORKSPACE: REPO_ROOT,
  });
}

/** argv of the OpenSSH client running one remote command on the lab manager (one new connection). */
export function sshArgv(remote: readonly string[]): string[] {
  return [
    'ssh',
    '-i',
    lab.ssh.privateKeyPath,
    '-p',
    String(lab.ssh.port),
    '-o',
    `UserKnownHostsFile=${knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    `${lab.ssh.user}@${lab.ssh.host}`,
    commandLine(remote),
  ];
}

export interface UpdateState {
  state: string;
  startedAt: number | undefined;
  completedAt: number | undefined;
}

/** A service's UpdateStatus, read with the local docker. */
export async function updateState(service: string): Promise<UpdateState> {
  const out = await local.run(['docker', 'service', 'inspect', '--format', '{{json .UpdateStatus}}', service], {
    allowFailure: true,
  });
  const status = JSON.parse(out.stdout.trim() || 'null') as {
    State?: string;
    StartedAt?: string;
    CompletedAt?: string;
  } | null;
  const time = (s: string | undefined) => (s && !s.startsWith('0001') ? Date.parse(s) : undefined);
  return {
    state: status?.State ?? '',
    startedAt: time(status?.StartedAt),
    completedAt: time(status?.CompletedAt),
  };
}

/** Wait (bounded) until no service of the list is still updating or rolling back. */
export async function settle(services: readonly string[], timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const states = await Promise.all(services.map(updateState));
    if (states.every((s) => s.state !== 'updating' && s.state !== 'rollback_started')) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`services did not settle within ${timeoutMs / 1000}s: ${services.join(', ')}`);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
