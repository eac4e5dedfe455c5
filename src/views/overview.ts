/**
 * What runs where, for operators (`status`): every client stack on the cluster with its version,
 * replicas, last release and lock, read with a fixed number of commands whatever the number of
 * clients; and one client's services and tasks in detail. Reading only: nothing here changes the
 * swarm.
 */
import { inspectServices, serviceTasks, stackServices, type ServiceInfo, type TaskInfo } from '../state/docker.js';
import { readHistory, type Release } from '../state/history.js';
import { isReleaseConfigName, LABELS, Tenant } from '../core/tenant.js';
import { readLock, type LockHolder } from '../state/lock.js';
import type { CommandRunner } from '../core/exec.js';
import { desiredReplicas } from '../rollout/verdict.js';

const STACK_LABEL = 'com.docker.stack.namespace';

/** A release as operators read it: everything but the recorded stack text. */
export type ReleaseSummary = Omit<Release, 'stack'>;

export function summarizeRelease(release: Release): ReleaseSummary {
  const { stack: _stack, ...rest } = release;
  return rest;
}

export interface ClientOverview {
  client: string;
  /** Image tags (or short digests) the client's services run, without repeats. */
  versions: string[];
  services: number;
  running: number;
  desired: number;
  /** Update states other than completed, e.g. `updating`, `paused`, `rollback_completed`. */
  updateStates: string[];
  release?: ReleaseSummary | undefined;
  lock?: LockHolder | undefined;
}

export interface ServiceStatus {
  name: string;
  image: string;
  version: string;
  running: number;
  desired: number;
  /** `global` services have one task per eligible node. */
  mode: 'replicated' | 'global';
  updateState: string;
  updateMessage?: string | undefined;
}

export interface TaskStatus {
  id: string;
  /** `<service>.<slot>` as docker shows it. */
  name: string;
  service: string;
  state: string;
  desiredState: string;
  since: string;
  version: string;
  error?: string | undefined;
}

export interface ClientStatus {
  client: string;
  release?: ReleaseSummary | undefined;
  lock?: LockHolder | undefined;
  services: ServiceStatus[];
  tasks: TaskStatus[];
}

/** The tag of an image reference, or the first 12 hex digits of its digest when it has no tag. */
export function imageVersion(image: string): string {
  const [name = image, digest] = image.split('@');
  const colon = name.indexOf(':', name.lastIndexOf('/') + 1);
  if (colon >= 0) return name.slice(colon + 1);
  if (digest) return digest.replace(/^sha256:/, '').slice(0, 12);
  return 'latest';
}

/** `docker service ls --format '{{.Name}}\t{{.Replicas}}'`: running/desired per service name. */
export function parseServiceList(text: string): Map<string, { running: number; desired: number }> {
  const result = new Map<string, { running: number; desired: number }>();
  for (const line of text.split('\n')) {
    const [name, replicas = ''] = line.trim().split('\t');
    if (!name) continue;
    // "2/3", or "1/1 (max 1 per node)"; a job service shows "0/1 (1/1 completed)".
    const match = /^(\d+)\/(\d+)/.exec(replicas.trim());
    result.set(name, { running: match ? Number(match[1]) : 0, desired: match ? Number(match[2]) : 0 });
  }
  return result;
}

export interface ConfigEntry {
  name: string;
  client: string;
  kind: string;
}

/** `docker config ls --format '{{.Name}}\t{{.Label "…client"}}\t{{.Label "…kind"}}'`. */
export function parseConfigList(text: string): ConfigEntry[] {
  return text
    .split('\n')
    .map((line) => line.trim().split('\t'))
    .filter((cells): cells is [string, string, string] => cells.length === 3 && cells.every((c) => c !== ''))
    .map(([name, client, kind]) => ({ name, client, kind }));
}

/**
 * The configs worth reading for an overview: each client's newest release (release ids sort by
 * time, so the greatest config name is the newest) and its lock, for the clients asked about.
 */
export function overviewConfigs(entries: readonly ConfigEntry[], clients: ReadonlySet<string>): string[] {
  const newest = new Map<string, string>();
  const locks: string[] = [];
  for (const entry of entries) {
    if (!clients.has(entry.client)) continue;
    if (entry.kind === 'release' && Tenant.recorded(entry.client).isReleaseConfig(entry.name)) {
      const seen = newest.get(entry.client);
      if (seen === undefined || entry.name > seen) newest.set(entry.client, entry.name);
    } else if (entry.kind === 'lock' && entry.name === Tenant.recorded(entry.client).lockConfig) {
      locks.push(entry.name);
    }
  }
  return [...newest.values(), ...locks].sort();
}

function decodeConfig<T>(data: string | undefined): T | undefined {
  try {
    return JSON.parse(Buffer.from(data ?? '', 'base64').toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

function clientOf(service: ServiceInfo): string | undefined {
  return service.Spec.Labels?.[LABELS.client] ?? service.Spec.Labels?.[STACK_LABEL];
}

/** Pure: put the four answers together, one row per client, sorted by name. */
export function buildOverview(
  services: readonly ServiceInfo[],
  replicas: ReadonlyMap<string, { running: number; desired: number }>,
  releases: readonly Release[],
  locks: readonly LockHolder[],
): ClientOverview[] {
  const rows = new Map<string, ClientOverview>();
  for (const service of services) {
    const client = clientOf(service);
    if (!client) continue;
    const row = rows.get(client) ?? {
      client,
      versions: [],
      services: 0,
      running: 0,
      desired: 0,
      updateStates: [],
    };
    const count = replicas.get(service.Spec.Name);
    const version = imageVersion(service.Spec.TaskTemplate.ContainerSpec?.Image ?? '');
    if (!row.versions.includes(version)) row.versions.push(version);
    row.services += 1;
    row.running += count?.running ?? 0;
    row.desired += count?.desired ?? desiredReplicas(service);
    const state = service.UpdateStatus?.State;
    if (state && state !== 'completed' && !row.updateStates.includes(state)) row.updateStates.push(state);
    rows.set(client, row);
  }
  for (const release of releases) {
    const row = rows.get(release.client);
    if (row && (row.release === undefined || release.id > row.release.id)) row.release = summarizeRelease(release);
  }
  for (const lock of locks) {
    const row = rows.get(lock.client);
    if (row) row.lock = lock;
  }
  return [...rows.values()].sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
}

/**
 * Every client stack on the cluster: services that carry the client label (every service a
 * swarm-deploy release created does). Four commands whatever the number of clients: the service
 * list (names, running/desired), one inspect of them all, the list of release and lock configs,
 * and one inspect of each client's newest release and lock.
 */
export async function readClusterOverview(runner: CommandRunner): Promise<ClientOverview[]> {
  const list = await runner.run([
    'docker',
    'service',
    'ls',
    '--filter',
    `label=${LABELS.client}`,
    '--format',
    '{{.Name}}\t{{.Replicas}}',
  ]);
  const replicas = parseServiceList(list.stdout);
  if (replicas.size === 0) return [];
  const services = [...(await inspectServices(runner, [...replicas.keys()])).values()];
  const clients = new Set(services.map(clientOf).filter((c): c is string => c !== undefined));

  const configs = await runner.run([
    'docker',
    'config',
    'ls',
    '--filter',
    `label=${LABELS.kind}`,
    '--format',
    `{{.Name}}\t{{.Label "${LABELS.client}"}}\t{{.Label "${LABELS.kind}"}}`,
  ]);
  const wanted = overviewConfigs(parseConfigList(configs.stdout), clients);
  const releases: Release[] = [];
  const locks: LockHolder[] = [];
  if (wanted.length > 0) {
    // A release or lock removed between the list and the inspect is simply missing (allowFailure).
    const out = await runner.run(['docker', 'config', 'inspect', ...wanted], { allowFailure: true });
    const inspected = out.stdout.trim().startsWith('[')
      ? (JSON.parse(out.stdout) as { Spec: { Name: string; Data?: string } }[])
      : [];
    for (const config of inspected) {
      if (isReleaseConfigName(config.Spec.Name)) {
        const release = decodeConfig<Release>(config.Spec.Data);
        if (release?.client && release.id) releases.push(release);
      } else {
        const holder = decodeConfig<LockHolder>(config.Spec.Data);
        if (holder?.client) locks.push(holder);
      }
    }
  }
  return buildOverview(services, replicas, releases, locks);
}

/** Pure: one client's services and tasks; current tasks, then the most recent failures. */
export function buildClientStatus(
  client: string,
  services: readonly ServiceInfo[],
  tasks: readonly TaskInfo[],
  release: Release | undefined,
  lock: LockHolder | undefined,
  recentFailures = 5,
): ClientStatus {
  const names = new Map(services.map((s) => [s.ID, s.Spec.Name]));
  const taskRow = (task: TaskInfo): TaskStatus => {
    const service = names.get(task.ServiceID) ?? task.ServiceID;
    const error = task.Status.Err ?? (task.Status.State === 'rejected' ? task.Status.Message : undefined);
    return {
      id: task.ID,
      name: `${service}.${task.Slot ?? task.ID.slice(0, 12)}`,
      service,
      state: task.Status.State,
      desiredState: task.DesiredState,
      since: task.Status.Timestamp,
      version: imageVersion(task.Spec.ContainerSpec?.Image ?? ''),
      ...(error ? { error } : {}),
    };
  };
  const byName = (a: TaskStatus, b: TaskStatus) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const current = tasks.filter((t) => t.DesiredState === 'running' || t.DesiredState === 'ready');
  const failed = tasks
    .filter((t) => !current.includes(t) && (t.Status.State === 'failed' || t.Status.State === 'rejected'))
    .sort((a, b) => Date.parse(b.Status.Timestamp) - Date.parse(a.Status.Timestamp))
    .slice(0, recentFailures);
  return {
    client,
    release: release ? summarizeRelease(release) : undefined,
    lock,
    services: services
      .map((service) => {
        const image = service.Spec.TaskTemplate.ContainerSpec?.Image ?? '';
        const global = service.Spec.Mode?.Global !== undefined;
        const mine = current.filter((t) => t.ServiceID === service.ID);
        return {
          name: service.Spec.Name,
          image,
          version: imageVersion(image),
          running: mine.filter((t) => t.Status.State === 'running').length,
          desired: global ? mine.length : desiredReplicas(service),
          mode: global ? ('global' as const) : ('replicated' as const),
          updateState: service.UpdateStatus?.State ?? 'none',
          ...(service.UpdateStatus?.Message ? { updateMessage: service.UpdateStatus.Message } : {}),
        };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    tasks: [...current.map(taskRow).sort(byName), ...failed.map(taskRow)],
  };
}

/** One client: its services (ls + inspect), their tasks (ps + inspect), its history and its lock. */
export async function readClientStatus(runner: CommandRunner, client: string): Promise<ClientStatus> {
  const services = [...(await stackServices(runner, client)).values()];
  const tasks = await serviceTasks(
    runner,
    services.map((s) => s.Spec.Name),
  );
  const history = await readHistory(runner, client);
  const lock = await readLock(runner, client);
  return buildClientStatus(client, services, tasks, history[0], lock?.holder);
}
