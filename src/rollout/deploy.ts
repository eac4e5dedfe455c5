/**
 * One rollout of a client's stack, end to end. A planner turns each kind of request into a plan:
 * a deploy renders and judges its stack before touching the swarm, a rollback names a recorded
 * release, a scale (rollout/scale.ts) the current release with a new replica count. The one
 * executor then takes the client's lock, snapshots, creates versioned secrets, sends the stack
 * through stdin, watches only what changed, rolls the whole stack back when any part fails, and
 * records the release.
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
  stackDeploy,
  stackServices,
  type ServiceInfo,
} from '../state/docker.js';
import {
  currentRelease,
  newReleaseId,
  planPrune,
  pruneHistory,
  readHistory,
  resolveRollbackTarget,
  writeRelease,
  type Release,
} from '../state/history.js';
import { acquireLock, fence, readLock, releaseLock, type HeldLock } from '../state/lock.js';
import { ensureObjects, pruneObjects, type VersionedObject } from '../state/objects.js';
import type { PolicySettings } from '../compose/policy.js';
import { planDiff, type StackDiff } from './plan.js';
import type { CommandRunner } from '../core/exec.js';
import {
  judgeRecordedStack,
  releaseLabels,
  renderStack,
  type ReleaseInfo,
  type RenderedStack,
} from '../compose/stack.js';
import { carriesFingerprint, judgeUnchanged } from './unchanged.js';
import { withFingerprint } from '../compose/fingerprint.js';
import { desiredReplicas, isOurUpdate, taskTemplateChanged } from './verdict.js';
import { versionedName } from '../state/versioned.js';
import { RolloutWatch, type ServiceReport, type TimelineEntry, type WatchTarget } from './watch.js';
import type { DeployRequest, RollbackRequest, RolloutRequest, RolloutSettings } from './request.js';
import { planScaleRollout } from './scale.js';

export type DeployStatus = 'deployed' | 'rolled-back' | 'failed' | 'planned';

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
  /** Nothing changed: the stack (or the release asked for) was already running as asked. */
  unchanged?: boolean | undefined;
  /**
   * The commit of the release that runs once the rollout is over, where it is known: this run's
   * when it deployed, the restored release's after a rollback asked for, the release that ran
   * before after an automatic rollback. Undefined after a failure that left things as Swarm did.
   */
  runningSha?: string | undefined;
  /** The commit of the release that ran before this rollout, where the history knows it. */
  previousSha?: string | undefined;
}

export interface Prepared {
  rendered: RenderedStack;
  secrets: VersionedObject[];
  configs: VersionedObject[];
}

/** What the executor runs: a rendered stack, or a recorded release deployed again. */
export type RolloutPlan =
  | { kind: 'deploy'; request: DeployRequest; prepared: Prepared }
  | { kind: 'rollback' | 'scale'; request: RolloutSettings; restore: RestoreTarget };

export interface RestoreTarget {
  /** The release asked for: `previous`, a release id, a git sha or an image tag. */
  to: string;
  /** Replicas per short service name that replace the recorded ones (a scale). */
  replicas?: Readonly<Record<string, number>> | undefined;
}

/** The deploy planner (pure): the stack rendered and judged before any remote command. */
export function planDeploy(request: DeployRequest, release: ReleaseInfo): RolloutPlan {
  return { kind: 'deploy', request, prepared: prepareStack(request, release) };
}

/** The rollback planner: the release asked for, resolved against the history once it is read. */
export function planRollback(request: RollbackRequest): RolloutPlan {
  return { kind: 'rollback', request, restore: { to: request.to } };
}

/**
 * The recorded release a restoring plan deploys again. A scale takes whatever is current when the
 * history is read, so it never undoes a deploy that landed in the meantime.
 */
function restoreTarget(plan: RolloutPlan & { restore: RestoreTarget }, history: Release[]): Release {
  return (
    (plan.kind === 'scale' ? currentRelease(history) : undefined) ?? resolveRollbackTarget(history, plan.restore.to)
  );
}

/** Pure: versioned names and the rendered, policy-judged stack. Runs before any remote command. */
export function prepareStack(request: DeployRequest, release: ReleaseInfo): Prepared {
  const secrets = [...request.secrets].map(([name, content]) => ({
    name,
    content,
    versioned: versionedName(request.tenant, name, content, 'secrets'),
  }));
  const configName = (name: string, content: string): string => versionedName(request.tenant, name, content, 'configs');
  const configs = [...request.configs].map(([name, content]) => ({
    name,
    content,
    versioned: configName(name, content),
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
    files: request.readFile === undefined ? undefined : { read: request.readFile, configName },
    policy: request.policy,
    autoRollback: request.autoRollback,
  });
  return { rendered, secrets, configs: [...configs, ...rendered.configFiles] };
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

/** A recorded release's stack, judged again under today's policy, with its exact digests and this run's release labels. */
export function restoreStack(
  target: Release,
  tenant: Tenant,
  release: ReleaseInfo,
  policy: PolicySettings,
  replicas: Readonly<Record<string, number>> = {},
): string {
  const doc = parseDocument(target.stack);
  const services = doc.get('services', true) as { items?: { key: { value?: unknown } | unknown }[] } | undefined;
  const names = (services?.items ?? []).map((item) => {
    const key = item.key as { value?: unknown };
    return String(key.value ?? item.key);
  });
  for (const name of names) {
    const count = replicas[name];
    if (count !== undefined) doc.setIn(['services', name, 'deploy', 'replicas'], count);
  }
  // A scale's new count is judged with the stack, so the platform's maximum of replicas holds for it too.
  const judged = Object.keys(replicas).length === 0 ? target.stack : doc.toString({ lineWidth: 0 });
  judgeRecordedStack({ tenant, file: `release ${target.id}`, text: judged, policy });
  const labels = releaseLabels(tenant, release);
  for (const name of names) {
    const image = target.images[tenant.scoped(name)];
    if (image) doc.setIn(['services', name, 'image'], image);
    for (const [label, value] of Object.entries(labels))
      doc.setIn(['services', name, 'deploy', 'labels', label], value);
  }
  return withFingerprint(doc.toString({ lineWidth: 0 }));
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

/**
 * The services the deploy compares against. A deploy without `prune` touches only the services
 * of its rendered stack, so those are read by name (one command); a rollback or a pruning deploy
 * lists the whole stack.
 */
function snapshot(runner: CommandRunner, request: RolloutSettings, prepared: Prepared | undefined) {
  if (prepared && !request.prune)
    return inspectServices(runner, stackServiceNames(request.tenant, prepared.rendered.yaml));
  return stackServices(runner, request.tenant.stack);
}

function unchangedResult(
  yaml: string,
  tenant: Tenant,
  services: ReadonlyMap<string, ServiceInfo>,
  fields: {
    reason: string;
    release?: string | undefined;
    restored?: string | undefined;
    image?: string | undefined;
    runningSha?: string | undefined;
  },
): Omit<DeployResult, 'durationMs'> {
  const reports: ServiceReport[] = stackServiceNames(tenant, yaml).map((name) => {
    const service = services.get(name) as ServiceInfo;
    return {
      name,
      image: service.Spec.TaskTemplate.ContainerSpec?.Image ?? '',
      running: desiredReplicas(service),
      desired: desiredReplicas(service),
      updateState: service.UpdateStatus?.State ?? 'unchanged',
      phase: 'completed',
    };
  });
  const main = fields.image !== undefined ? reports.find((r) => r.image === fields.image) : undefined;
  const image = (main ?? reports[0])?.image;
  return {
    status: 'deployed',
    unchanged: true,
    reason: fields.reason,
    release: fields.release,
    restored: fields.restored,
    runningSha: fields.runningSha,
    image,
    previousImage: image,
    services: reports,
    timeline: [],
    failures: [],
    rendered: yaml,
  };
}

/**
 * What the read before the lock told: the answer to a redeploy that changes nothing (`result`), or,
 * when there is work to do and the lock was free, the services (and a restore's history) it read.
 * A lock taken at its first try right after that read finds them as they were, so the deploy
 * compares against them without reading them again.
 */
interface EarlyRead {
  result?: Omit<DeployResult, 'durationMs'>;
  services?: Map<string, ServiceInfo>;
  history?: Release[];
}

/**
 * A deploy, rollback or scale that would change nothing, told from one read (the services, and
 * the lock side by side) before anything costs a lock or a write. A client whose lock is held
 * (another deploy running, a maintenance hold) always takes the full path: it waits for the lock,
 * or fails on the hold, exactly as any deploy does. Returns undefined when there is work to do.
 */
async function alreadyRunning(context: DeployContext, plan: RolloutPlan, releaseInfo: ReleaseInfo): Promise<EarlyRead> {
  const { runner, log } = context;
  const { request } = plan;
  const client = request.tenant.name;
  if (plan.kind === 'deploy') {
    const { prepared } = plan;
    // With prune, services left out of the file would be removed: not a question one read answers.
    if (request.prune) return {};
    // Swarm records images pinned by digest; a tag is resolved again by Docker on every deploy, so
    // a stack naming one never matches by itself and the read would be a round trip for nothing.
    if (!prepared.rendered.services.every((s) => s.image.includes('@sha256:'))) return {};
    const yaml = prepared.rendered.yaml;
    const [services, lock] = await Promise.all([
      inspectServices(runner, stackServiceNames(request.tenant, yaml)),
      readLock(runner, client),
    ]);
    if (lock) return {};
    const verdict = judgeUnchanged(yaml, request.tenant, services);
    if (!verdict.unchanged) {
      log.debug(`Deploying: ${verdict.why}`);
      return { services };
    }
    log.info(
      `${client} already runs this stack${verdict.release ? ` (release ${verdict.release})` : ''}: nothing to deploy, nothing recorded`,
    );
    return {
      result: unchangedResult(yaml, request.tenant, services, {
        reason: 'unchanged',
        release: verdict.release,
        image: plan.request.image,
      }),
    };
  }
  const [history, services, lock] = await Promise.all([
    readHistory(runner, client),
    stackServices(runner, request.tenant.stack),
    readLock(runner, client),
  ]);
  if (lock) return {};
  const target = restoreTarget(plan, history);
  const yaml = restoreStack(target, request.tenant, releaseInfo, request.policy, plan.restore.replicas);
  const verdict = judgeUnchanged(yaml, request.tenant, services);
  if (!verdict.unchanged) {
    log.debug(`Redeploying release ${target.id}: ${verdict.why}`);
    return { services, history };
  }
  log.info(`${client} already runs release ${target.id} as asked: nothing to do, nothing recorded`);
  return {
    result: unchangedResult(yaml, request.tenant, services, {
      reason: 'already running',
      release: verdict.release ?? target.id,
      restored: target.id,
      runningSha: target.gitSha,
    }),
  };
}

export interface DeployContext {
  runner: CommandRunner;
  log: Log;
  clock?: Clock;
  /** Called once the lock is held, so an action can release it in its post step. */
  onLock?: (lock: HeldLock) => void;
}

/** The planner of each kind of request. */
async function planRollout(
  context: DeployContext,
  request: RolloutRequest,
  release: ReleaseInfo,
): Promise<RolloutPlan> {
  switch (request.kind) {
    case 'deploy':
      return planDeploy(request, release);
    case 'rollback':
      return planRollback(request);
    case 'scale':
      return planScaleRollout(context.runner, context.log, request);
  }
}

/** Plans the request and runs the plan: the one executor of deploys, rollbacks and scales. */
export async function runDeploy(context: DeployContext, request: RolloutRequest): Promise<DeployResult> {
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
  const plan = await planRollout(context, request, releaseInfo);
  const prepared = plan.kind === 'deploy' ? plan.prepared : undefined;
  const restore = plan.kind === 'deploy' ? undefined : plan;
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
    if (restore)
      yaml = restoreStack(
        restoreTarget(restore, history),
        tenant,
        releaseInfo,
        request.policy,
        restore.restore.replicas,
      );
    const diff = planDiff(before, yaml ?? '', tenant);
    return { ...base, status: 'planned', diff, rendered: yaml, durationMs: clock.now() - started };
  }

  // 2. A redeploy of what already runs is answered from one read, before any lock or write.
  const early = await alreadyRunning(context, plan, releaseInfo);
  if (early.result) return { ...early.result, durationMs: clock.now() - started };

  // The manager's clock is read while the lock is taken: neither waits for the other.
  const clockRead = managerClock(runner, clock);
  clockRead.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile

  const expiryMs = request.lockExpiryMs ?? request.timeoutMs * 2 + 5 * 60_000;
  const lock = await acquireLock({
    runner,
    log,
    client: tenant.name,
    runUrl: request.runUrl,
    actor: request.actor,
    waitMs: request.lockWaitMs,
    expiryMs,
    clock,
  });
  context.onLock?.(lock);
  let finished = false;
  /** Release the lock, once, as soon as the release is recorded. */
  const finish = async () => {
    if (finished) return;
    finished = true;
    await releaseLock(runner, log, lock);
  };
  try {
    // Independent reads and preparations, side by side on the one connection: the deploy's
    // overhead over a bare `docker stack deploy` stays one round trip here, not six. A deploy
    // needs the history only to record itself: it is read while the rollout runs.
    const p = prepared;
    const historyRead = readHistory(runner, tenant.name);
    historyRead.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    const fenced = (step: string) => fence(runner, lock, step, clock);
    // Taken at the first try, right after the read before the lock: what that read found is what
    // runs, since nobody held the lock in between to change it.
    const fresh = lock.uncontended === true ? early : {};
    const [history, before, [, clockOffset]] = await Promise.all([
      restore ? (fresh.history ?? historyRead) : undefined,
      fresh.services ?? snapshot(runner, request, p),
      clockRead,
      p ? ensureObjects(runner, log, 'secret', tenant, p.secrets) : undefined,
      p ? ensureObjects(runner, log, 'config', tenant, p.configs) : undefined,
    ]);
    await fenced('the stack deploy');
    // Every service of the stack joins the client's network: a stack with services has it.
    if (before.size === 0) await ensureNetwork(runner, request.tenant);
    const current = history ? currentRelease(history) : undefined;

    let yaml: string;
    let secrets: Record<string, string>;
    let configs: Record<string, string>;
    let restored: Release | undefined;
    if (restore) {
      // A scale redeploys whatever is current once the lock is held, so it never undoes a deploy
      // that landed while it waited.
      restored = restoreTarget(restore, history ?? []);
      log.info(
        `${plan.kind === 'scale' ? `Scaling ${tenant.name} from` : `Rolling ${tenant.name} back to`} release ${restored.id}${restored.gitSha ? ` (${restored.gitSha.slice(0, 7)})` : ''}`,
      );
      yaml = restoreStack(restored, tenant, releaseInfo, request.policy, restore.restore.replicas);
      secrets = restored.secrets;
      configs = restored.configs;
    } else {
      const ready = p as Prepared;
      yaml = ready.rendered.yaml;
      secrets = Object.fromEntries(ready.secrets.map((s) => [s.name, s.versioned]));
      configs = Object.fromEntries(ready.configs.map((c) => [c.name, c.versioned]));
    }

    const main = mainService(
      tenant,
      before,
      prepared?.rendered,
      plan.kind === 'deploy' ? plan.request.image : undefined,
    );
    const previousImage = main ? before.get(main)?.Spec.TaskTemplate.ContainerSpec?.Image : undefined;
    const offset = clockOffset;
    // The manager's time as the deploy leaves, from the offset read while the lock was taken.
    const sentAt = clock.now() + offset;
    log.info(`Deploying stack ${tenant.stack} (release ${releaseId}) through ${runner.description}`);
    const output = await stackDeploy(runner, {
      stack: tenant.stack,
      composeYaml: yaml,
      prune: request.prune,
      withRegistryAuth: request.registry !== undefined,
      registry: request.registry,
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
          fence: fenced,
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

    const recorded =
      history ??
      (await historyRead.catch((error: unknown) => {
        log.warning(`Reading the release history of ${request.tenant.name} failed: ${errorMessage(error)}`);
        return [];
      }));
    const running = currentRelease(recorded);
    // Nothing ran differently (no task changed, and the services already carried this very stack):
    // the record repeats the running release instead of taking a slot of the kept history.
    const repeats =
      targets.length === 0 && running !== undefined && carriesFingerprint(yaml, request.tenant, before)
        ? (running.repeats ?? running.id)
        : undefined;
    if (repeats) log.info(`The stack was already running as release ${repeats}: nothing changed`);
    const release: Release = {
      id: releaseId,
      client: tenant.name,
      kind: plan.kind,
      time: releaseInfo.time,
      verdict: watch.outcome,
      gitSha: restore ? restored?.gitSha : request.gitSha,
      runUrl: request.runUrl,
      actor: request.actor,
      imageRef: plan.kind === 'deploy' ? plan.request.image : restored?.imageRef,
      images: Object.fromEntries([...after].map(([name, s]) => [name, s.Spec.TaskTemplate.ContainerSpec?.Image ?? ''])),
      replicas: Object.fromEntries([...after].map(([name, s]) => [name, desiredReplicas(s)])),
      secrets,
      configs,
      stack: yaml,
      restored: restored?.id,
      replaced: restore && !repeats ? current?.id : undefined,
      repeats,
      reason: watch.reason ?? (repeats ? 'unchanged' : undefined),
    };
    await recordRelease(runner, log, release, recorded, request.keepReleases, finish, fenced);

    return {
      status: watch.outcome,
      reason: release.reason,
      unchanged: repeats !== undefined,
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
      runningSha:
        watch.outcome === 'deployed' ? release.gitSha : watch.outcome === 'rolled-back' ? running?.gitSha : undefined,
      previousSha: running?.gitSha,
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
  fenced: (step: string) => Promise<void>,
): Promise<void> {
  await fenced('recording the release');
  try {
    await writeRelease(runner, release);
  } catch (error) {
    log.warning(`The release ${release.id} ended ${release.verdict}, but recording it failed: ${errorMessage(error)}`);
    return;
  }
  // The record is written: the lock can go while the old releases and versions are pruned.
  const { kept, dropped } = planPrune([release, ...history], keep);
  if (dropped.length > 0) await fenced('pruning old releases');
  // Versions become unused only when the releases using them go (or when a deploy died before
  // recording itself, swept at the next drop): no drop, nothing to list.
  const secrets = new Set(kept.flatMap((r) => Object.values(r.secrets)));
  const configs = new Set(kept.flatMap((r) => Object.values(r.configs)));
  const tenant = Tenant.recorded(release.client);
  const prune = (
    dropped.length === 0
      ? Promise.resolve()
      : Promise.all([
          pruneHistory(runner, release.client, dropped),
          pruneObjects(runner, log, 'secret', tenant, secrets),
          pruneObjects(runner, log, 'config', tenant, configs),
        ])
  ).catch((error: unknown) => log.warning(`Pruning old releases of ${release.client} failed: ${errorMessage(error)}`));
  await Promise.all([prune, afterWrite()]);
}

export function describeResult(result: DeployResult): string {
  const took = formatDuration(result.durationMs);
  if (result.unchanged && result.status === 'deployed') {
    const what = result.release ? `release ${result.release}` : 'the same stack';
    return result.reason === 'already running'
      ? `Already running: ${what} runs as asked; nothing was changed (${took})`
      : `Unchanged: ${what} already runs this stack; nothing was deployed (${took})`;
  }
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
