/**
 * Scaling a client's service safely: instead of `docker service scale` (which leaves no trace and
 * is undone by the next deploy without anyone noticing), the current release's recorded stack is
 * deployed again with the new replica count, through the same lock, watch and verdict as a deploy,
 * and recorded in the release history as kind `scale`. This module holds the pure checks.
 */
import type { Tenant } from '../core/tenant.js';
import { parse } from 'yaml';
import { ConfigurationError } from '../core/errors.js';
import { currentRelease, readHistory, type Release } from '../state/history.js';
import { showValue } from '../core/names.js';
import type { CommandRunner } from '../core/exec.js';
import type { Log } from '../core/log.js';
import { inspectServices } from '../state/docker.js';
import type { RolloutPlan } from './deploy.js';
import type { ScaleRequest } from './request.js';
import { desiredReplicas } from './verdict.js';

export const MAX_REPLICAS = 100;

export interface ScaleTarget {
  /** The service as the operator named it (short `web` or full `<client>_web`). */
  service: string;
  replicas: number;
}

/** `<service>=<replicas>`, replicas a whole number from 0 to MAX_REPLICAS. */
/** `field` is the scale target's key, `scale` (`<service>=<replicas>` in the CLI). */
export function parseScaleTarget(text: string, field = 'scale'): ScaleTarget {
  const match = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(\d{1,4})$/.exec(text.trim());
  if (!match) {
    throw new ConfigurationError(`expected <service>=<replicas> such as web=3, got ${showValue(text)}`, field);
  }
  const replicas = Number(match[2]);
  if (replicas > MAX_REPLICAS) {
    throw new ConfigurationError(`replicas must be from 0 to ${MAX_REPLICAS}, got ${replicas}`, field);
  }
  return { service: match[1] as string, replicas };
}

export interface ScaleChange {
  /** The service's name in the stack file. */
  service: string;
  /** `<client>_<service>`, as Swarm names it. */
  fullName: string;
  /** Replicas the release recorded. */
  from: number;
  to: number;
}

/**
 * Checks the target against the release's own stack: only a replicated service of the client's
 * stack can be scaled. Returns the change to deploy.
 */
export function planScale(release: Release, tenant: Tenant, target: ScaleTarget, field = 'scale'): ScaleChange {
  const compose = (parse(release.stack, { maxAliasCount: 100 }) ?? {}) as {
    services?: Record<string, { deploy?: { mode?: unknown; replicas?: unknown } | null } | null>;
  };
  const services = Object.keys(compose.services ?? {});
  const service = tenant.unscoped(target.service);
  if (!services.includes(service)) {
    throw new ConfigurationError(
      `${showValue(target.service)} is not a service of ${tenant.name}'s stack (release ${release.id} has ${services.join(', ') || 'no services'})`,
      field,
    );
  }
  const deploy = compose.services?.[service]?.deploy ?? {};
  if (deploy.mode === 'global') {
    throw new ConfigurationError(
      `${tenant.scoped(service)} runs in global mode (one task per node); it has no replica count`,
      field,
    );
  }
  const fullName = tenant.scoped(service);
  const recorded = release.replicas[fullName] ?? Number(deploy.replicas ?? 1);
  return { service, fullName, from: Number.isFinite(recorded) ? recorded : 1, to: target.replicas };
}

/**
 * The scale planner: the client's current release, checked against the target, deployed again with
 * the new count. The executor takes whatever release is current once it reads the history again.
 */
export async function planScaleRollout(runner: CommandRunner, log: Log, request: ScaleRequest): Promise<RolloutPlan> {
  const { tenant } = request;
  const current = currentRelease(await readHistory(runner, tenant.name));
  if (!current) {
    throw new ConfigurationError(
      `no deployed release of ${tenant.name} is recorded; deploy it with swarm-deploy before scaling it`,
      'client',
    );
  }
  const change = planScale(current, tenant, request.target);
  const live = (await inspectServices(runner, [change.fullName])).get(change.fullName);
  log.info(
    `Scaling ${change.fullName} from ${live ? desiredReplicas(live) : change.from} to ${change.to} replicas (release ${current.id})`,
  );
  return { kind: 'scale', request, restore: { to: current.id, replicas: { [change.service]: change.to } } };
}
