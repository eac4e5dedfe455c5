/**
 * What a deploy would change, for `dry-run` and the CLI's `plan`: the rendered stack compared with
 * the services running now (images, env, labels, secrets, replicas, services added or removed).
 */
import type { Tenant } from '../core/tenant.js';
import { parse } from 'yaml';
import type { ServiceInfo } from '../state/docker.js';

export interface FieldChange {
  field: string;
  from: string;
  to: string;
}

export interface StackDiff {
  added: string[];
  removed: string[];
  changed: { service: string; changes: FieldChange[] }[];
  unchanged: string[];
}

/** Labels that change on every release; a diff that listed them would hide the real changes. */
const VOLATILE_LABEL = /^(swarm-deploy\.(release|time|run-url|actor|git-sha)|com\.docker\.stack\.)/;

type Compose = {
  services?: Record<string, Record<string, unknown>>;
  secrets?: Record<string, { name?: string } | null>;
};

function unescape(value: string): string {
  return value.replace(/\$\$/g, '$');
}

function envList(environment: unknown): string[] {
  if (Array.isArray(environment)) return environment.map((e) => unescape(String(e))).sort();
  if (environment && typeof environment === 'object') {
    return Object.entries(environment as Record<string, unknown>)
      .map(([k, v]) => `${k}=${v === null || v === undefined ? '' : unescape(String(v))}`)
      .sort();
  }
  return [];
}

function labelList(labels: unknown): string[] {
  const entries: [string, string][] = Array.isArray(labels)
    ? labels.map((l) => {
        const [k = '', ...rest] = String(l).split('=');
        return [k, rest.join('=')];
      })
    : Object.entries((labels ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v ?? '')]);
  return entries
    .filter(([k]) => !VOLATILE_LABEL.test(k))
    .map(([k, v]) => `${k}=${unescape(v)}`)
    .sort();
}

function withoutDigest(image: string): string {
  return image.split('@')[0] ?? image;
}

function compareLists(field: string, from: string[], to: string[], changes: FieldChange[]): void {
  const removed = from.filter((x) => !to.includes(x));
  const added = to.filter((x) => !from.includes(x));
  if (removed.length || added.length)
    changes.push({ field, from: removed.join(', ') || '—', to: added.join(', ') || '—' });
}

export function planDiff(running: Map<string, ServiceInfo>, renderedYaml: string, tenant: Tenant): StackDiff {
  const compose = (parse(renderedYaml, { maxAliasCount: 100 }) ?? {}) as Compose;
  const wanted = compose.services ?? {};
  const diff: StackDiff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const [short, service] of Object.entries(wanted)) {
    const full = tenant.scoped(short);
    const current = running.get(full);
    if (!current) {
      diff.added.push(full);
      continue;
    }
    const changes: FieldChange[] = [];
    const container = current.Spec.TaskTemplate.ContainerSpec ?? {};
    const image = unescape(String(service.image ?? ''));
    const currentImage = container.Image ?? '';
    if (image.includes('@') ? image !== currentImage : image !== withoutDigest(currentImage)) {
      changes.push({ field: 'image', from: currentImage, to: image });
    }
    compareLists('env', (container.Env ?? []).slice().sort(), envList(service.environment), changes);
    const deploy = (service.deploy ?? {}) as Record<string, unknown>;
    compareLists('labels', labelList(current.Spec.Labels), labelList(deploy.labels), changes);
    const secretNames = ((service.secrets ?? []) as unknown[]).map((s) => {
      const source = typeof s === 'string' ? s : String((s as { source?: string }).source ?? '');
      return compose.secrets?.[source]?.name ?? source;
    });
    compareLists('secrets', (container.Secrets ?? []).map((s) => s.SecretName).sort(), secretNames.sort(), changes);
    const replicas = deploy.mode === 'global' ? undefined : Number(deploy.replicas ?? 1);
    const currentReplicas = current.Spec.Mode?.Replicated?.Replicas;
    if (replicas !== undefined && currentReplicas !== undefined && replicas !== currentReplicas) {
      changes.push({ field: 'replicas', from: String(currentReplicas), to: String(replicas) });
    }
    if (changes.length) diff.changed.push({ service: full, changes });
    else diff.unchanged.push(full);
  }
  for (const name of running.keys())
    if (!Object.keys(wanted).some((s) => tenant.scoped(s) === name)) diff.removed.push(name);
  return diff;
}

export function formatDiff(diff: StackDiff): string {
  const lines: string[] = [];
  for (const name of diff.added) lines.push(`+ ${name} (new service)`);
  for (const name of diff.removed) lines.push(`- ${name} (no longer in the stack; removed only with prune: true)`);
  for (const { service, changes } of diff.changed) {
    lines.push(`~ ${service}`);
    for (const change of changes) lines.push(`    ${change.field}: ${change.from} → ${change.to}`);
  }
  for (const name of diff.unchanged) lines.push(`= ${name} (unchanged)`);
  return lines.join('\n') || '(the stack is empty)';
}
