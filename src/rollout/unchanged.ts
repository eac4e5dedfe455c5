/**
 * Whether a deploy would change anything, decided from one read of the services before any lock
 * or write. Every service of a rendered stack carries a fingerprint label: a hash of the whole
 * stack as Docker reads it (secret and config versions, env, labels that matter, update settings,
 * replicas) without the per-run labels (release id, git sha, run URL, actor, time) and without
 * the images, which are compared exactly on their own. A stack is unchanged when every service
 * runs with that fingerprint, its exact image and its replicas, and no update is in progress.
 *
 * Because the fingerprint covers the whole stack and sits in each service's own spec, a stack
 * half-way through another deploy (some services updated, some not, or one rolled back by Swarm)
 * never has all services agreeing with one render: it is never judged unchanged.
 */
import { parse } from 'yaml';
import { FINGERPRINT_LABEL, RELEASE_LABEL, stackFingerprint } from '../compose/fingerprint.js';
import type { Tenant } from '../core/tenant.js';
import type { ServiceInfo } from '../state/docker.js';
import { desiredReplicas } from './verdict.js';

/** Update states of a service whose spec is not settled yet. */
const IN_PROGRESS = new Set(['updating', 'paused', 'rollback_started', 'rollback_paused']);

type Compose = { services?: Record<string, Record<string, unknown> | null> | null };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type UnchangedVerdict =
  | { unchanged: true; /** The release whose labels the services carry. */ release?: string | undefined }
  | { unchanged: false; why: string };

/**
 * Pure: did these services (a snapshot taken before a deploy) already carry this stack's
 * fingerprint, every one of them? After a deploy that changed no task, it tells a redeploy of the
 * same stack from a change of labels only (new routing labels are a release of their own).
 */
export function carriesFingerprint(yaml: string, tenant: Tenant, services: ReadonlyMap<string, ServiceInfo>): boolean {
  const compose = (parse(yaml, { maxAliasCount: 100 }) ?? {}) as Compose;
  const fingerprint = stackFingerprint(yaml);
  const names = Object.keys(compose.services ?? {}).map((name) => tenant.scoped(name));
  return (
    names.length > 0 &&
    names.length === services.size &&
    names.every((name) => services.get(name)?.Spec.Labels?.[FINGERPRINT_LABEL] === fingerprint)
  );
}

/**
 * Pure: does the swarm already run exactly this stack? `services` is one read of the stack's
 * services by name (absent ones missing from the map).
 */
export function judgeUnchanged(
  yaml: string,
  tenant: Tenant,
  services: ReadonlyMap<string, ServiceInfo>,
): UnchangedVerdict {
  const compose = (parse(yaml, { maxAliasCount: 100 }) ?? {}) as Compose;
  const fingerprint = stackFingerprint(yaml);
  const releases = new Set<string | undefined>();
  const entries = Object.entries(compose.services ?? {});
  if (entries.length === 0) return { unchanged: false, why: 'the stack has no services' };
  for (const [name, service] of entries) {
    const fullName = tenant.scoped(name);
    const live = services.get(fullName);
    if (!live) return { unchanged: false, why: `${fullName} does not run yet` };
    const state = live.UpdateStatus?.State;
    if (state !== undefined && IN_PROGRESS.has(state)) {
      return { unchanged: false, why: `${fullName} has an update in progress (${state})` };
    }
    if (live.Spec.Labels?.[FINGERPRINT_LABEL] !== fingerprint) {
      return { unchanged: false, why: `${fullName} runs another version of the stack` };
    }
    const image = isRecord(service) ? service.image : undefined;
    if (live.Spec.TaskTemplate.ContainerSpec?.Image !== image) {
      // A tag (no digest) never matches the digest-pinned image Swarm records: only Docker can say
      // whether the tag still points at the running digest, so such a deploy takes the full path.
      return { unchanged: false, why: `${fullName} runs another image` };
    }
    const deploy = isRecord(service) && isRecord(service.deploy) ? service.deploy : {};
    if (deploy.mode !== 'global' && live.Spec.Mode?.Global === undefined) {
      const wanted = typeof deploy.replicas === 'number' ? deploy.replicas : 1;
      if (desiredReplicas(live) !== wanted) {
        return { unchanged: false, why: `${fullName} runs ${desiredReplicas(live)} replicas, not ${wanted}` };
      }
    }
    releases.add(live.Spec.Labels?.[RELEASE_LABEL]);
  }
  return { unchanged: true, release: releases.size === 1 ? [...releases][0] : undefined };
}
