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
import { createHash } from 'node:crypto';
import { parse, parseDocument, Scalar } from 'yaml';
import type { ServiceInfo } from './docker.js';
import { desiredReplicas } from './verdict.js';

export const FINGERPRINT_LABEL = 'swarm-deploy.fingerprint';
export const RELEASE_LABEL = 'swarm-deploy.release';

/** Labels that differ on every run and say nothing about what runs. */
export const PER_RUN_LABELS: readonly string[] = [
  RELEASE_LABEL,
  'swarm-deploy.git-sha',
  'swarm-deploy.run-url',
  'swarm-deploy.actor',
  'swarm-deploy.time',
];

/** Update states of a service whose spec is not settled yet. */
const IN_PROGRESS = new Set(['updating', 'paused', 'rollback_started', 'rollback_paused']);

type Compose = { services?: Record<string, Record<string, unknown> | null> | null };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON with keys sorted at every level, so key order in the YAML never changes the hash. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The fingerprint of a stack as sent to `docker stack deploy` (the YAML text Docker reads). */
export function stackFingerprint(yaml: string): string {
  const compose = structuredClone((parse(yaml, { maxAliasCount: 100 }) ?? {}) as Compose);
  for (const service of Object.values(compose.services ?? {})) {
    if (!isRecord(service)) continue;
    delete service.image;
    const deploy = service.deploy;
    if (!isRecord(deploy)) continue;
    const labels = deploy.labels;
    if (isRecord(labels)) for (const label of [...PER_RUN_LABELS, FINGERPRINT_LABEL]) delete labels[label];
    // What stamping the label created must not count: no labels and no deploy section mean the same.
    if (isRecord(labels) && Object.keys(labels).length === 0) delete deploy.labels;
    if (Object.keys(deploy).length === 0) delete service.deploy;
  }
  return createHash('sha256').update(canonical(compose)).digest('hex').slice(0, 32);
}

/** The stack with its fingerprint set as a label on every service. */
export function withFingerprint(yaml: string): string {
  const fingerprint = stackFingerprint(yaml);
  const doc = parseDocument(yaml);
  const services = doc.get('services', true) as { items?: { key: unknown }[] } | undefined;
  for (const item of services?.items ?? []) {
    const name = String((item.key as { value?: unknown }).value ?? item.key);
    // Quoted, so Docker's YAML 1.1 reader can never take an all-digit hash for a number.
    const value = new Scalar(fingerprint);
    value.type = Scalar.QUOTE_DOUBLE;
    doc.setIn(['services', name, 'deploy', 'labels', FINGERPRINT_LABEL], value);
  }
  return doc.toString({ lineWidth: 0 });
}

export type UnchangedVerdict =
  | { unchanged: true; /** The release whose labels the services carry. */ release?: string | undefined }
  | { unchanged: false; why: string };

/**
 * Pure: did these services (a snapshot taken before a deploy) already carry this stack's
 * fingerprint, every one of them? After a deploy that changed no task, it tells a redeploy of the
 * same stack from a change of labels only (new routing labels are a release of their own).
 */
export function carriesFingerprint(yaml: string, client: string, services: ReadonlyMap<string, ServiceInfo>): boolean {
  const compose = (parse(yaml, { maxAliasCount: 100 }) ?? {}) as Compose;
  const fingerprint = stackFingerprint(yaml);
  const names = Object.keys(compose.services ?? {}).map((name) => `${client}_${name}`);
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
  client: string,
  services: ReadonlyMap<string, ServiceInfo>,
): UnchangedVerdict {
  const compose = (parse(yaml, { maxAliasCount: 100 }) ?? {}) as Compose;
  const fingerprint = stackFingerprint(yaml);
  const releases = new Set<string | undefined>();
  const entries = Object.entries(compose.services ?? {});
  if (entries.length === 0) return { unchanged: false, why: 'the stack has no services' };
  for (const [name, service] of entries) {
    const fullName = `${client}_${name}`;
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
