import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createRouter, freePort, labInfo, type LabInfo } from '../../lab/lab.js';
import { MemoryLog } from '../support/memory-log.js';
import { parseKnownHosts } from '../../src/transport/known-hosts.js';
import { LocalRunner } from '../../src/core/exec.js';
import { SshRunner } from '../../src/transport/ssh.js';

export const lab: LabInfo = labInfo();
export const privateKey = readFileSync(lab.ssh.privateKeyPath, 'utf8');

/**
 * The lab tests' usual stack: one `web` service, one replica, a short update and rollback monitor
 * (the lab app's healthcheck answers within a second or two).
 */
export const WEB_STACK = `services:
  web:
    image: \${IMAGE}
    deploy:
      replicas: 1
      update_config:
        monitor: 4s
      rollback_config:
        monitor: 4s
`;

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

/** The CLI's connection flags for the lab's sshd, with the known_hosts file given. */
export function connectionFlags(knownHostsFile: string): string[] {
  return [
    '--host',
    lab.ssh.host,
    '--port',
    String(lab.ssh.port),
    '--user',
    lab.ssh.user,
    '--ssh-key',
    lab.ssh.privateKeyPath,
    '--known-hosts',
    knownHostsFile,
  ];
}

/** Direct access to the local docker for assertions (what the test checks, not what it tests). */
export const local = new LocalRunner();

export async function docker(...args: string[]): Promise<string> {
  return (await local.run(['docker', ...args])).stdout.trim();
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { action as swarmDeploy } from '../../src/actions/swarm-deploy/main.js';
import { REPO_ROOT } from '../../lab/lab.js';
import { runActionStep, type GithubContext } from '../../lab/runner/action-host.js';
import { runActionInProcess, stepView, type ActionRun } from '../support/action-harness.js';

export { stepView as actionRun, type ActionRun, type StepLogView } from '../support/action-harness.js';

/** The inputs that reach the lab's manager over SSH. */
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
export function writeStack(client: string, text: string, name = 'stack.yml'): string {
  const dir = join(lab.dir, 'work', client);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), text);
  return relative(REPO_ROOT, join(dir, name));
}

export interface DeployStepOptions {
  github?: GithubContext;
  /** Call the action's entry in this process (a test that must own the SSH sockets); default: the committed bundle. */
  inProcess?: boolean;
  /** For the post step: `post` with the state the main step saved. */
  phase?: 'main' | 'post';
  state?: Record<string, string>;
}

/**
 * Run the swarm-deploy action as GitHub's runner does: the committed bundle under Node 24, every
 * action.yml default applied, outputs and state from their files, the SSH key masked as a
 * workflow secret would be.
 */
export async function deployStep(inputs: Record<string, string>, options: DeployStepOptions = {}): Promise<ActionRun> {
  const step = {
    action: '.',
    with: inputs,
    secrets: [inputs['ssh-key'] ?? ''],
    ...(options.github ? { github: options.github } : {}),
    ...(options.phase ? { phase: options.phase } : {}),
    ...(options.state ? { state: options.state } : {}),
  };
  const result = options.inProcess
    ? await runActionInProcess({ ...step, run: () => swarmDeploy.main() })
    : await runActionStep({ ...step, timeoutMs: 6 * 60_000 });
  const run = stepView(result);
  capture('deployStep', [run.log.text(), ...run.outputs.values(), run.failure ?? ''].join('\n'));
  return run;
}

export { freePort };

/** Poll until `check` passes or the deadline; returns the last value. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** A router service on the client's network, published on a loopback-reachable host port. */
export async function startRouter(client: string, service: string): Promise<{ url: string; name: string }> {
  const port = await freePort();
  const name = `${client}-router`;
  createRouter(lab, { name, client, service, port, labels: ['swarm-deploy.lab=test'] });
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    'the router',
    () => fetch(`${url}/version`, { signal: AbortSignal.timeout(2000) }),
    (r) => r.ok,
    90_000,
  );
  return { url, name };
}

export interface LoadReport {
  requests: number;
  failures: { status: number | string; body: string }[];
  versions: Map<string, number>;
}

/** A bounded load loop (stops on `stop()`, after `maxMs`, or after `maxRequests`). */
export function startLoad(url: string, { maxMs = 180_000, maxRequests = 20_000 } = {}) {
  const report: LoadReport = { requests: 0, failures: [], versions: new Map() };
  let stopped = false;
  const started = Date.now();
  const done = (async () => {
    while (!stopped && Date.now() - started < maxMs && report.requests < maxRequests) {
      report.requests += 1;
      try {
        const response = await fetch(`${url}/version`, { signal: AbortSignal.timeout(5000) });
        const body = (await response.text()).trim();
        if (!response.ok) report.failures.push({ status: response.status, body });
        else report.versions.set(body, (report.versions.get(body) ?? 0) + 1);
      } catch (error) {
        report.failures.push({ status: 'error', body: String(error) });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return report;
  })();
  return {
    report,
    stop: async () => {
      stopped = true;
      return done;
    },
  };
}

/** What the service serves right now, through the router. */
export async function servedVersion(url: string): Promise<string> {
  const response = await fetch(`${url}/version`, { signal: AbortSignal.timeout(5000) });
  return (await response.text()).trim();
}

/** Remove a client's stack, router, network, secrets and configs (test cleanup). */
export async function removeClient(client: string): Promise<void> {
  const { sweep } = await import('../../lab/lab.js');
  sweep(client);
  const configs = (
    await docker('config', 'ls', '--filter', `label=swarm-deploy.client=${client}`, '--format', '{{.Name}}')
  )
    .split('\n')
    .filter(Boolean);
  if (configs.length) await docker('config', 'rm', ...configs).catch(() => undefined);
  const leftovers = (await docker('config', 'ls', '--format', '{{.Name}}'))
    .split('\n')
    .filter((n) => n.includes(`.${client}`));
  if (leftovers.length) await docker('config', 'rm', ...leftovers).catch(() => undefined);
}

/*
 * Captures for the suite-wide secrets scan: every log, summary and output a lab test saw is appended
 * to <lab.dir>/captures/<worker>-<file>.log, and the secret values tests used are listed in
 * <lab.dir>/captures/secrets.json. The lab's global teardown scans the one against the other.
 */
import { appendFileSync, closeSync, existsSync, openSync, readFileSync as readFile, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { expect } from 'vitest';

export const capturesDir = join(lab.dir, 'captures');

/** Append what a run wrote (log text, summaries, outputs) to this worker's capture file. */
export function capture(name: string, text: string): void {
  mkdirSync(capturesDir, { recursive: true });
  let file = 'unknown';
  try {
    file = basename(expect.getState().testPath ?? 'unknown').replace(/\.test\.ts$/, '');
  } catch {
    // outside a test file's context
  }
  const worker = process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? String(process.pid);
  appendFileSync(join(capturesDir, `${worker}-${file}.log`), `===== ${name}\n${text}\n`);
}

/** Add secret values (label → value) to the list the suite-wide scan looks for. */
export async function recordSecrets(secrets: Record<string, string>): Promise<void> {
  mkdirSync(capturesDir, { recursive: true });
  const path = join(capturesDir, 'secrets.json');
  const lockPath = `${path}.lock`;
  // Test files run in parallel workers: a lock file makes the read-merge-write atomic.
  for (let attempt = 0; ; attempt++) {
    try {
      closeSync(openSync(lockPath, 'wx'));
      break;
    } catch {
      if (attempt > 200) rmSync(lockPath, { force: true });
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  try {
    const known = existsSync(path) ? (JSON.parse(readFile(path, 'utf8')) as Record<string, string>) : {};
    writeFileSync(path, JSON.stringify({ ...known, ...secrets }, null, 2));
  } finally {
    rmSync(lockPath, { force: true });
  }
}
