/**
 * The fingerprint of a rendered stack: a hash of the whole stack as Docker reads it (secret and
 * config versions, env, labels that matter, update settings, replicas) without the per-run labels
 * (release id, git sha, run URL, actor, time) and without the images, which are compared exactly on
 * their own. Every rendered service carries it as a label; rollout/unchanged.ts reads it back.
 */
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { canonicalYaml } from './canonical.js';

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

/**
 * The stack with its fingerprint set as a label on every service, written out canonically (see
 * canonicalYaml). The text is already as Docker reads it (`$` doubled), so its strings are kept as they are.
 */
export function withFingerprint(yaml: string): string {
  const fingerprint = stackFingerprint(yaml);
  const compose = (parse(yaml, { maxAliasCount: 100 }) ?? {}) as Record<string, unknown>;
  const services = isRecord(compose.services) ? compose.services : {};
  for (const service of Object.values(services)) {
    if (!isRecord(service)) continue;
    const deploy = isRecord(service.deploy) ? service.deploy : (service.deploy = {});
    const labels = isRecord(deploy.labels) ? deploy.labels : (deploy.labels = {});
    labels[FINGERPRINT_LABEL] = fingerprint;
  }
  return canonicalYaml(compose);
}
