/**
 * One deploy (or rollback) of a client's stack, end to end: render and judge before touching the
 * swarm, take the client's lock, snapshot, create versioned secrets, send the stack through stdin,
 * watch only what changed, roll the whole stack back when any part fails, and record the release.
 */
import { parseDocument } from 'yaml';
import { formatDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { systemClock, type Clock } from '../core/retry.js';
import { Tenant } from '../core/tenant.js';
import {
  ensureNetwork,
  inspectServices,
  managerTime,
  registryLogin,
  removeDockerConfig,
  stackDeploy,
  stackServices,
  type ServiceInfo,
} from '../state/docker.js';
import {
  currentRelease,
  newReleaseId,
  pruneHistory,
  readHistory,
  resolveRollbackTarget,
  writeRelease,
  type Release,
  type ReleaseKind,
} from '../state/history.js';
import { acquireLock, releaseLock, type HeldLock } from '../state/lock.js';
import { ensureObjects, pruneObjects, type VersionedObject } from '../state/objects.js';
import type { PolicySettings } from '../compose/policy.js';
import { planDiff, type StackDiff } from './plan.js';
import type { CommandRunner } from '../core/exec.js';
import { releaseLabels, renderStack, type ReleaseInfo, type RenderedStack } from '../compose/stack.js';
import { desiredReplicas, isOurUpdate, taskTemplateChanged } from './verdict.js';
import { versionedName } from '../state/versioned.js';
import { RolloutWatch, type ServiceReport, type TimelineEntry, type WatchTarget } from './watch.js';

export type DeployStatus = 'deployed' | 'rolled-back' | 'failed' | 'planned';

export interface DeployRequest {
  tenant: Tenant;
  stackFile: string;
  stackText: string;
  image?: string | undefined;
  env: ReadonlyMap<string, string>;
  /** Logical secret name → value. */
  secrets: ReadonlyMap<string, string>;
  /** Logical config name → content (files from the repository). */
  configs: ReadonlyMap<string, string>;
  registry?: { server: string; username: string; password: string } | undefined;
  timeoutMs: number;
  autoRollback: boolean;
  rollbackTo?: string | undefined;
  dryRun: boolean;
  prune: boolean;
  keepReleases: number;
  policy: PolicySettings;
  gitSha?: string | undefined;
  runUrl?: string | undefined;
  actor?: string | undefined;
  lockWaitMs: number;
  /** How long the lock survives a runner that never releases it. */
  lockExpiryMs?: number | undefined;
  stuckMs?: number | undefined;
  /** Use `docker events` to drive the watch (polling only when false). */
  useEvents?: boolean | undefined;
  kind?: ReleaseKind;
  /** With `rollbackTo`: replicas per short service name that replace the recorded ones (the CLI's `scale`). */
  replicas?: Readonly<Record<string, number>> | undefined;
}

export interface DeployResult {
  status: DeployStatus;
  reason?: string | undefined;
  release?: string | undefined;
  image?: string | undefined;
  previousImage?: string | undefined;
  durationMs: number;
  services: ServiceReport[];
  timeline: TimelineEntry[];
  /** Manager time when the deploy was sent and when the verdict's final state was seen (benchmarks). */
  sentAt?: number | undefined;
  verdictAt?: number | undefined;
  diff?: StackDiff | undefined;
  rendered?: string | undefined;
  failures: { service: string; taskId: string; error: string; logs: string }[];
  restored?: string | undefined;
}

export interface Prepared {
  rendered: RenderedStack;
  secrets: VersionedObject[];
  configs: VersionedObject[];
}

/** Pure: versioned names and the rendered, policy-judged stack. Runs before any remote command. */
export function prepareStack(request: DeployRequest, release: ReleaseInfo): Prepared {
  const secrets = [...request.secrets].map(([name, content]) => ({
    name,
    content,
    versioned: versionedName(request.tenant, name, content, 'secrets'),
  }));
  const configs = [...request.configs].map(([name, content]) => ({
    name,
    content,
    versioned: versionedName(request.tenant, name, content, 'configs'),
  }));
  const rendered = renderStack({
    tenant: request.tenant,
    file: request.stackFile,
    text: request.stackText,
    image: request.image,
    env: request.env,
    release,
    secretNames: new Map(secrets.map((s) => [s.name, s.versioned])),
    configNames: new Map(configs.map((c) => [c.name, c.versioned])),
    policy: request.policy,
    autoRollback: request.autoRollback,
  });
  return { rendered, secrets, configs };
}

/**
 * The manager's time and its offset from this machine's clock, taken at the middle of the command's
 * round trip, so timestamps of Swarm and of the watch compare within a fraction of that trip.
 */
async function managerClock(runner: CommandRunner, clock: Clock): Promise<[number, number]> {
  const before = clock.now();
  const manager = await managerTime(runner);
  const after = clock.now();
  return [manager, manager - (before + after) / 2];
}

/** Full service names (`<client>_<service>`) of a rendered stack. */
export function stackServiceNames(tenant: Tenant, yaml: string): string[] {
  const doc = parseDocument(yaml);
  const services = doc.get('services', true) as { items?: { key: unknown }[] } | undefined;
  return (services?.items ?? []).map((item) =>
    tenant.scoped(String((item.key as { value?: unknown }).value ?? item.key)),
  );
}

/** A recorded release's stack with its exact digests and this run's release labels. */
export function restoreStack(
  target: Release,
  tenant: Tenant,
  release: ReleaseInfo,
  replicas: Readonly<Record<string, number>> = {},
): string {
  const doc = parseDocument(target.stack);
  const services = doc.get('services', true) as { items?: { key: { value?: unknown } | unknown }[] } | undefined;
  const labels = releaseLabels(tenant, release);
  for (const item of services?.items ?? []) {
    const key = item.key as { value?: unknown };
    const name = String(key.value ?? item.key);
    const image = target.images[tenant.scoped(name)];
    if (image) doc.setIn(['services', name, 'image'], image);
    const count = replicas[name];
    if (count !== undefined) doc.setIn(['services', name, 'deploy', 'replicas'], count);
    for (const [label, value] of Object.entries(labels))
      doc.setIn(['services', name, 'deploy', 'labels', label], value);
  }
  return doc.toString({ lineWidth: 0 });
}

function mainService(
  tenant: Tenant,
  services: Map<string, ServiceInfo>,
  rendered: RenderedStack | undefined,
  image: string | undefined,
): string | undefined {
  const byImage = rendered?.services.find((s) => image !== undefined && s.image === image)?.fullName;
  return byImage ?? rendered?.services[0]?.fullName ?? [...services.keys()].sort()[0] ?? tenant.scoped('app');
}

export interface DeployContext {
  runner: CommandRunner;
  log: Log;
  clock?: Clock;
  /** Called once the lock is held, so an action can release it in its post step. */
  onLock?: (lock: HeldLock) => void;
}

export async function runDeploy(context: DeployContext, request: DeployRequest): Promise<DeployResult> {
  const { runner, log } = context;
  const { tenant } = request;
  const clock = context.clock ?? systemClock;
  const started = clock.now();
  const releaseId = newReleaseId(new Date(clock.now()));
  const releaseInfo: ReleaseInfo = {
    id: releaseId,
    gitSha: request.gitSha,
    runUrl: request.runUrl,
    actor: request.actor,
    time: new Date(clock.now()).toISOString(),
  };
  const base = { durationMs: 0, services: [], timeline: [], failures: [] };

  // 1. Everything that can be judged without the swarm is judged first: nothing remote runs on bad input.
  const prepared = request.rollbackTo ? undefined : prepareStack(request, releaseInfo);
  for (const warning of prepared?.rendered.warnings ?? []) {
    log.warning(`[${warning.rule}] ${warning.message}`, {
      file: warning.file,
      ...(warning.line ? { startLine: warning.line } : {}),
    });
  }

  if (request.dryRun) {
    const before = await stackServices(runner, tenant.stack);
    const history = await readHistory(runner, tenant.name);
    let yaml = prepared?.rendered.yaml;
    if (request.rollbackTo)
      yaml = restoreStack(resolveRollbackTarget(history, request.rollbackTo), tenant, releaseInfo, request.replicas);
    const diff = planDiff(before, yaml ?? '', tenant);
    return { ...base, status: 'planned', diff, rendered: yaml, durationMs: clock.now() - started };
  }

  const lock = await acquireLock({
    runner,
    log,
    client: tenant.name,
    runUrl: request.runUrl,
    actor: request.actor,
    waitMs: request.lockWaitMs,
    expiryMs: request.lockExpiryMs ?? request.timeoutMs * 2 + 5 * 60_000,
  });
  context.onLock?.(lock);
  let dockerConfig: string | undefined;
  let finished = false;
  /** Log out on the manager and release the lock, once, as soon as the release is recorded. */
  const finish = async () => {
    if (finished) return;
    finished = true;
    await Promise.all([
      dockerConfig ? removeDockerConfig(runner, dockerConfig) : undefined,
      releaseLock(runner, log, lock),
    ]);
  };
  try {
    // Independent reads and preparations, side by side on the one connection: the deploy's
    // overhead over a bare `docker stack deploy` stays one round trip here, not six.
    const p = prepared;
    const [history, before, [sentAt, clockOffset], , , , login] = await Promise.all([
      readHistory(runner, tenant.name),
      stackServices(runner, tenant.stack),
      managerClock(runner, clock),
      ensureNetwork(runner, tenant),
      p ? ensureObjects(runner, log, 'secret', tenant, p.secrets) : undefined,
      p ? ensureObjects(runner, log, 'config', tenant, p.configs) : undefined,
      request.registry
        ? registryLogin(runner, request.registry.server, request.registry.username, request.registry.password)
        : undefined,
    ]);
    dockerConfig = login;
    const current = currentRelease(history);

    let yaml: string;
    let secrets: Record<string, string>;
    let configs: Record<string, string>;
    let restored: Release | undefined;
    if (request.rollbackTo) {
      // A scale redeploys whatever is current once the lock is held, so it never undoes a deploy
      // that landed while it waited.
      restored =
        (request.kind === 'scale' ? currentRelease(history) : undefined) ??
        resolveRollbackTarget(history, request.rollbackTo);
      log.info(
        `${request.kind === 'scale' ? `Scaling ${tenant.name} from` : `Rolling ${tenant.name} back to`} release ${restored.id}${restored.gitSha ? ` (${restored.gitSha.slice(0, 7)})` : ''}`,
      );
      yaml = restoreStack(restored, tenant, releaseInfo, request.replicas);
      secrets = restored.secrets;
      configs = restored.configs;
    } else {
      const ready = p as Prepared;
      yaml = ready.rendered.yaml;
      secrets = Object.fromEntries(ready.secrets.map((s) => [s.name, s.versioned]));
      configs = Object.fromEntries(ready.configs.map((c) => [c.name, c.versioned]));
    }

    const main = mainService(tenant, before, prepared?.rendered, request.image);
    const previousImage = main ? before.get(main)?.Spec.TaskTemplate.ContainerSpec?.Image : undefined;
    const offset = clockOffset;
    log.info(`Deploying stack ${tenant.stack} (release ${releaseId}) through ${runner.description}`);
    const output = await stackDeploy(runner, {
      stack: tenant.stack,
      composeYaml: yaml,
      prune: request.prune,
      withRegistryAuth: request.registry !== undefined,
      dockerConfig,
    });
    log.debug(output);

    // The stack's services are known by name (from the rendered or recorded stack, and the snapshot):
    // one inspect, no listing round trip.
    const names = new Set([...before.keys(), ...stackServiceNames(tenant, yaml)]);
    const after = await inspectServices(runner, [...names]);
    const targets: WatchTarget[] = [];
    for (const [name, service] of after) {
      const old = before.get(name);
      if (!old) targets.push({ name, before: undefined });
      // A fast failure (a missing image is rejected at once) may already be rolled back to the old
      // spec by the time we look, so an update that started after the snapshot counts as well.
      else if (taskTemplateChanged(old, service) || isOurUpdate(service, old)) targets.push({ name, before: old });
      else if (desiredReplicas(old) !== desiredReplicas(service))
        targets.push({ name, before: undefined, existed: true });
    }
    log.info(
      targets.length ? `Watching ${targets.map((t) => t.name).join(', ')}` : 'No service changed: nothing to roll out',
    );

    const watch = targets.length
      ? await new RolloutWatch({
          runner,
          log,
          targets,
          sentAt,
          timeoutMs: request.timeoutMs,
          autoRollback: request.autoRollback,
          stuckMs: request.stuckMs,
          clock,
          clockOffsetMs: offset,
          useEvents: request.useEvents,
        }).run()
      : { outcome: 'deployed' as const, reason: undefined, services: [], timeline: [], finalAt: sentAt, failures: [] };

    const image = main ? after.get(main)?.Spec.TaskTemplate.ContainerSpec?.Image : undefined;
    const services: ServiceReport[] = [...after.values()].map((service) => {
      const watched = watch.services.find((s) => s.name === service.Spec.Name);
      return (
        watched ?? {
          name: service.Spec.Name,
          image: service.Spec.TaskTemplate.ContainerSpec?.Image ?? '',
          running: desiredReplicas(service),
          desired: desiredReplicas(service),
          updateState: service.UpdateStatus?.State ?? 'unchanged',
          phase: 'completed',
        }
      );
    });

    const release: Release = {
      id: releaseId,
      client: tenant.name,
      kind: request.kind ?? (request.rollbackTo ? 'rollback' : 'deploy'),
      time: releaseInfo.time,
      verdict: watch.outcome,
      gitSha: request.rollbackTo ? restored?.gitSha : request.gitSha,
      runUrl: request.runUrl,
      actor: request.actor,
      imageRef: request.rollbackTo ? restored?.imageRef : request.image,
      images: Object.fromEntries([...after].map(([name, s]) => [name, s.Spec.TaskTemplate.ContainerSpec?.Image ?? ''])),
      replicas: Object.fromEntries([...after].map(([name, s]) => [name, desiredReplicas(s)])),
      secrets,
      configs,
      stack: yaml,
      restored: restored?.id,
      replaced: request.rollbackTo ? current?.id : undefined,
      reason: watch.reason,
    };
    await recordRelease(runner, log, release, history, request.keepReleases, finish);

    return {
      status: watch.outcome,
      reason: watch.reason,
      release: releaseId,
      image,
      previousImage,
      durationMs: clock.now() - started,
      services,
      timeline: [{ at: sentAt, text: 'deploy sent' }, ...watch.timeline],
      sentAt,
      verdictAt: watch.finalAt,
      failures: watch.failures,
      restored: restored?.id,
      rendered: yaml,
    };
  } finally {
    await finish();
  }
}

/** Write the release, keep the newest N, and drop secret/config versions no kept release uses. */
async function recordRelease(
  runner: CommandRunner,
  log: Log,
  release: Release,
  history: Release[],
  keep: number,
  afterWrite: () => Promise<void>,
): Promise<void> {
  try {
    await writeRelease(runner, release);
  } catch (error) {
    log.warning(`The release ${release.id} ended ${release.verdict}, but recording it failed: ${errorMessage(error)}`);
    return;
  }
  // The record is written: the lock can go while the old releases and versions are pruned.
  const kept = [release, ...history].slice(0, keep);
  const secrets = new Set(kept.flatMap((r) => Object.values(r.secrets)));
  const configs = new Set(kept.flatMap((r) => Object.values(r.configs)));
  const tenant = Tenant.recorded(release.client);
  const prune = Promise.all([
    pruneHistory(runner, release.client, [release, ...history], keep),
    pruneObjects(runner, log, 'secret', tenant, secrets),
    pruneObjects(runner, log, 'config', tenant, configs),
  ]).catch((error: unknown) => log.warning(`Pruning old releases of ${release.client} failed: ${errorMessage(error)}`));
  await Promise.all([prune, afterWrite()]);
}

export function describeResult(result: DeployResult): string {
  const took = formatDuration(result.durationMs);
  switch (result.status) {
    case 'deployed':
      return `Deployed release ${result.release} in ${took}`;
    case 'planned':
      return 'Planned (dry run): nothing was changed';
    case 'rolled-back':
      return `Release ${result.release} was rolled back: ${result.reason ?? 'the rollout failed'}`;
    default:
      return `Release ${result.release ?? ''} failed: ${result.reason ?? 'unknown reason'}`;
  }
}
