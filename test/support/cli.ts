import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo, Command } from '../../src/cli/command.js';
import { deployCommand, planCommand, rollbackCommand } from '../../src/cli/deploy.js';
import { historyCommand } from '../../src/cli/history.js';
import { lockCommand } from '../../src/cli/lock.js';
import { main } from '../../src/cli/main.js';
import type { OperatorDeps } from '../../src/cli/operator.js';
import { platformCommand } from '../../src/cli/platform.js';
import { scaleCommand } from '../../src/cli/scale.js';
import { statusCommand } from '../../src/cli/status.js';
import type { Release } from '../../src/state/history.js';
import type { ServiceInfo, TaskInfo } from '../../src/state/docker.js';
import { ScriptedRunner } from './scripted-runner.js';

export const NOW = Date.parse('2026-11-23T04:00:00Z');

/** What a command printed, split by stream. */
export interface Recorded extends CliIo {
  stdout: string[];
  stderr: string[];
}

export function recordingIo(cwd: string): Recorded {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { cwd, stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

/** A scratch directory with a local-only connection: `--host local` needs no key. */
export function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'sd-cli-'));
}

export function writeFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/**
 * Runs the CLI's main() with every operator command wired to the scripted runner; any command the
 * test did not script throws inside the runner, so nothing unplanned can pass.
 */
export async function runCli(
  argv: string[],
  runner: ScriptedRunner,
  options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: string } = {},
): Promise<{ code: number; io: Recorded; opened: number }> {
  let opened = 0;
  const deps: Partial<OperatorDeps> = {
    open: () => {
      opened += 1;
      return runner;
    },
    env: options.env ?? {},
    readStdin: async () => options.stdin ?? '',
    now: () => NOW,
  };
  const table: Record<string, Command> = {
    status: statusCommand(deps),
    history: historyCommand(deps),
    plan: planCommand(deps),
    deploy: deployCommand(deps),
    rollback: rollbackCommand(deps),
    scale: scaleCommand(deps),
    lock: lockCommand(deps),
    platform: platformCommand(deps),
  };
  const io = recordingIo(options.cwd ?? scratch());
  const code = await main(argv, io, table);
  return { code, io, opened };
}

export function service(
  name: string,
  options: {
    client?: string;
    image?: string;
    replicas?: number;
    global?: boolean;
    state?: string;
    id?: string;
  } = {},
): ServiceInfo {
  const client = options.client ?? name.split('_')[0] ?? name;
  return {
    ID: options.id ?? `id-${name}`,
    Version: { Index: 10 },
    CreatedAt: '2026-11-23T03:00:00Z',
    UpdatedAt: '2026-11-23T03:00:00Z',
    Spec: {
      Name: name,
      Labels: { 'com.docker.stack.namespace': client, 'swarm-deploy.client': client },
      TaskTemplate: {
        ContainerSpec: { Image: options.image ?? `reg.example.com/${client}/app:v1@sha256:${'a'.repeat(64)}` },
      },
      Mode: options.global ? { Global: {} } : { Replicated: { Replicas: options.replicas ?? 1 } },
    },
    ...(options.state ? { UpdateStatus: { State: options.state } } : {}),
  };
}

export function task(
  id: string,
  serviceId: string,
  slot: number,
  state: string,
  desired = 'running',
  extra: Partial<TaskInfo['Status']> = {},
): TaskInfo {
  return {
    ID: id,
    ServiceID: serviceId,
    Slot: slot,
    CreatedAt: '2026-11-23T03:50:00Z',
    UpdatedAt: '2026-11-23T03:50:00Z',
    DesiredState: desired,
    Status: { Timestamp: '2026-11-23T03:51:00Z', State: state, ...extra },
    Spec: { ContainerSpec: { Image: `reg.example.com/shop/app:v2@sha256:${'b'.repeat(64)}` } },
  };
}

export function release(client: string, id: string, overrides: Partial<Release> = {}): Release {
  return {
    id,
    client,
    kind: 'deploy',
    time: '2026-11-23T03:45:12.000Z',
    verdict: 'deployed',
    gitSha: 'abcdef1234567890',
    actor: 'octocat',
    imageRef: `reg.example.com/${client}/app:v1`,
    images: { [`${client}_web`]: `reg.example.com/${client}/app:v1@sha256:${'a'.repeat(64)}` },
    replicas: { [`${client}_web`]: 2 },
    secrets: {},
    configs: {},
    stack:
      'services:\n  web:\n    image: x\n    deploy:\n      replicas: 2\n  worker:\n    image: y\n    deploy:\n      mode: global\n',
    ...overrides,
  };
}

/** `docker config inspect` output for configs holding JSON documents. */
export function configInspect(entries: { name: string; data: unknown }[]): string {
  return JSON.stringify(
    entries.map((e, i) => ({
      ID: `cfg${i}`,
      Spec: { Name: e.name, Data: Buffer.from(JSON.stringify(e.data)).toString('base64') },
    })),
  );
}

export { ScriptedRunner };
