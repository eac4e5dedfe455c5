/**
 * Release history kept in the swarm itself, so it outlives runners and every repository that
 * deploys to the cluster sees the same record. Each release is one Swarm config (replicated by the
 * managers' Raft, readable from any manager), labelled with the client; configs are immutable,
 * so a release is written once, with its verdict, when the deploy ends.
 */
import { LABELS, Tenant } from '../core/tenant.js';
import { randomBytes } from 'node:crypto';
import { ConfigurationError } from '../core/errors.js';
import { checkResult, outputLines, type CommandRunner } from '../core/exec.js';

export type ReleaseKind = 'deploy' | 'rollback' | 'scale';
export type ReleaseVerdict = 'deployed' | 'rolled-back' | 'failed';

export interface Release {
  id: string;
  client: string;
  kind: ReleaseKind;
  time: string;
  verdict: ReleaseVerdict;
  gitSha?: string | undefined;
  runUrl?: string | undefined;
  actor?: string | undefined;
  /** The tag or reference the deploy was asked for (`image` input). */
  imageRef?: string | undefined;
  /** Exact image (with digest) per full service name, as Swarm resolved it. */
  images: Record<string, string>;
  /** Replicas per full service name. */
  replicas: Record<string, number>;
  /** Logical secret/config name → versioned swarm name. */
  secrets: Record<string, string>;
  configs: Record<string, string>;
  /** The rendered stack that was deployed (rollback redeploys it with the recorded digests). */
  stack: string;
  /** For a rollback: the release it restored, and the release it replaced. */
  restored?: string | undefined;
  replaced?: string | undefined;
  /**
   * A redeploy that changed nothing (a re-run, a commit that changes no image): the release it
   * confirmed again. Such a record takes no slot in `keep-releases` and is never a rollback point
   * of its own; it exists so the services' release label names a recorded release.
   */
  repeats?: string | undefined;
  reason?: string | undefined;
}

/** `20261123-034512-a1b` — sortable, readable, and short enough for a config name. */
export function newReleaseId(now = new Date(), random = randomBytes(2).toString('hex').slice(0, 3)): string {
  const iso = now.toISOString(); // 2026-11-23T03:45:12.345Z
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${random}`;
}

export const RELEASE_ID = /^\d{8}-\d{6}-[0-9a-f]{3}$/;

export async function writeRelease(runner: CommandRunner, release: Release): Promise<void> {
  const tenant = Tenant.recorded(release.client);
  const name = tenant.releaseConfig(release.id);
  const content = JSON.stringify(release);
  const argv = [
    'docker',
    'config',
    'create',
    ...tenant.labels('release').flatMap((label) => ['--label', label]),
    '--label',
    `${LABELS.verdict}=${release.verdict}`,
    name,
    '-',
  ];
  // Repeated after a dropped connection: the name is this run's own, so if it exists with this very
  // content, the first attempt landed and the record is written.
  const result = await runner.run(argv, { stdin: content, allowFailure: true, repeatable: true });
  if (result.code === 0) return;
  if (/already exists|AlreadyExists/i.test(result.stderr)) {
    const found = await runner.run(['docker', 'config', 'inspect', '--format', '{{json .Spec.Data}}', name], {
      allowFailure: true,
    });
    const data = found.code === 0 ? (JSON.parse(found.stdout) as string) : '';
    if (Buffer.from(data, 'base64').toString('utf8') === content) return;
  }
  checkResult(argv, result, {});
}

interface ConfigInspect {
  ID: string;
  Spec: { Name: string; Data?: string };
}

/** All recorded releases of a client, newest first (two commands whatever their number). */
export async function readHistory(runner: CommandRunner, client: string): Promise<Release[]> {
  const list = await runner.run([
    'docker',
    'config',
    'ls',
    ...Tenant.recorded(client).filters('release'),
    '--format',
    '{{.Name}}',
  ]);
  const names = outputLines(list.stdout);
  if (names.length === 0) return [];
  const out = await runner.run(['docker', 'config', 'inspect', ...names]);
  const releases: Release[] = [];
  for (const config of JSON.parse(out.stdout) as ConfigInspect[]) {
    try {
      releases.push(JSON.parse(Buffer.from(config.Spec.Data ?? '', 'base64').toString('utf8')) as Release);
    } catch {
      // A config that is not a readable release is ignored rather than failing every deploy.
    }
  }
  return releases.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

export interface PrunePlan {
  kept: Release[];
  dropped: Release[];
}

/**
 * Pure: which releases (newest first) to keep. The newest `keep` releases that ran something are
 * kept; records of redeploys that changed nothing count for nothing and only the newest one,
 * when it is what runs, is kept. Whatever else happens, the release running now (and the one it
 * repeats) and the release `previous` would roll back to are never dropped.
 */
export function planPrune(releases: Release[], keep: number): PrunePlan {
  const ids = new Set(
    releases
      .filter((r) => r.repeats === undefined)
      .slice(0, Math.max(1, keep))
      .map((r) => r.id),
  );
  const current = currentRelease(releases);
  if (current) {
    ids.add(current.id);
    if (current.repeats !== undefined) ids.add(current.repeats);
  }
  const previous = previousRelease(releases);
  if (previous) ids.add(previous.id);
  return {
    kept: releases.filter((r) => ids.has(r.id)),
    dropped: releases.filter((r) => !ids.has(r.id)),
  };
}

/** Remove the given releases' records (one command). */
export async function pruneHistory(runner: CommandRunner, client: string, dropped: Release[]): Promise<void> {
  const tenant = Tenant.recorded(client);
  const names = dropped.map((r) => tenant.releaseConfig(r.id));
  if (names.length > 0) await runner.run(['docker', 'config', 'rm', ...names], { allowFailure: true });
}

/** The release `previous` resolves to, or undefined when there is none. */
function previousRelease(history: Release[]): Release | undefined {
  try {
    return resolveRollbackTarget(history, 'previous');
  } catch {
    return undefined;
  }
}

/**
 * Whether two releases run the same thing: the same images and the same secret and config
 * versions. A rotation that changed only a secret is a release of its own to go back to.
 */
function sameRuntime(a: Release, b: Release): boolean {
  const same = (x: Record<string, unknown> | undefined, y: Record<string, unknown> | undefined) =>
    JSON.stringify(x ?? {}) === JSON.stringify(y ?? {});
  return same(a.images, b.images) && same(a.secrets, b.secrets) && same(a.configs, b.configs);
}

/** The release running now: the newest one whose verdict is deployed. */
export function currentRelease(history: Release[]): Release | undefined {
  return history.find((r) => r.verdict === 'deployed');
}

/**
 * Resolve `rollback-to`: `previous` is the newest deployed release before the current one that
 * runs different images or secret/config versions and was not itself rolled back away from (so
 * repeated rollbacks walk back instead of toggling); a release id, a git sha (full or ≥7 chars) or an image tag picks a
 * release explicitly (the newest deployed match).
 */
export function resolveRollbackTarget(history: Release[], wanted: string, input = 'rollback-to'): Release {
  const current = currentRelease(history);
  const deployed = history.filter((r) => r.verdict === 'deployed');
  if (wanted === 'previous') {
    if (!current) throw new ConfigurationError('there is no deployed release to roll back from', input);
    const releasesById = new Map(history.map((r) => [r.id, r]));
    // The release whose images a release runs: a rollback (or a scale) runs the one it restored.
    // A redeploy that changed nothing runs the release it repeats.
    const effective = (id: string): string => {
      let at = id;
      for (let hops = 0; hops <= history.length; hops++) {
        const r = releasesById.get(at);
        const runs = r?.restored ?? r?.repeats;
        if (runs === undefined) break;
        at = runs;
      }
      return at;
    };
    // A rollback to an older release rolled away from what it replaced and, when that was itself a
    // rollback, from the release that one restored (C → B → A must not go back up to B on the
    // third `previous`). A rollback forward (to a newer release by id) rolls away from nothing.
    const rolledAway = new Set<string>();
    for (const r of history) {
      if (r.kind !== 'rollback' || r.verdict !== 'deployed' || r.restored === undefined) continue;
      const back = effective(r.restored);
      for (let away = r.replaced; away !== undefined && !rolledAway.has(away) && effective(away) > back;) {
        rolledAway.add(away);
        const replaced = releasesById.get(away);
        away = replaced?.restored ?? replaced?.repeats;
      }
    }
    // A repeat is never a rollback point of its own: the release it repeats is (when still kept).
    const older = deployed.filter(
      (r) =>
        r.id < current.id &&
        !sameRuntime(r, current) &&
        !rolledAway.has(r.id) &&
        (r.repeats === undefined || !releasesById.has(r.repeats)),
    );
    const target = older[0];
    if (!target) throw new ConfigurationError('there is no earlier deployed release to roll back to', input);
    return target;
  }
  const byId = history.find((r) => r.id === wanted);
  if (byId) {
    if (byId.verdict !== 'deployed') {
      throw new ConfigurationError(
        `release ${wanted} ended ${byId.verdict}; only a release that ended deployed can be restored`,
        input,
      );
    }
    return byId;
  }
  const bySha = /^[0-9a-f]{7,40}$/.test(wanted) ? deployed.find((r) => r.gitSha?.startsWith(wanted)) : undefined;
  if (bySha) return bySha;
  const byTag = deployed.find(
    (r) =>
      r.imageRef?.split('@')[0]?.endsWith(`:${wanted}`) ||
      Object.values(r.images).some((image) => image.split('@')[0]?.endsWith(`:${wanted}`)),
  );
  if (byTag) return byTag;
  const known = deployed
    .slice(0, 5)
    .map((r) => `${r.id}${r.gitSha ? ` (${r.gitSha.slice(0, 7)})` : ''}`)
    .join(', ');
  throw new ConfigurationError(
    `no deployed release matches "${wanted}" (expected previous, a release id, a git sha or an image tag; recent: ${known || 'none'})`,
    input,
  );
}
