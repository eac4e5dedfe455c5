/**
 * Content-versioned Swarm secrets and configs on the cluster: created through stdin when missing
 * (unchanged content creates nothing), and removed only when no retained release uses them.
 */
import { CommandError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { LABELS, type Tenant } from '../core/tenant.js';
import { outputLines, type CommandRunner } from '../core/exec.js';

export type ObjectKind = 'secret' | 'config';

export interface VersionedObject {
  /** The logical name the stack uses. */
  name: string;
  /** `<client>_<name>_<hash>` */
  versioned: string;
  content: string;
}

async function listVersioned(runner: CommandRunner, kind: ObjectKind, tenant: Tenant): Promise<string[]> {
  const out = await runner.run(['docker', kind, 'ls', ...tenant.filters('versioned'), '--format', '{{.Name}}']);
  return outputLines(out.stdout);
}

/** Create the versions that do not exist yet; returns the names created. */
export async function ensureObjects(
  runner: CommandRunner,
  log: Log,
  kind: ObjectKind,
  tenant: Tenant,
  objects: VersionedObject[],
): Promise<string[]> {
  if (objects.length === 0) return [];
  const existing = new Set(await listVersioned(runner, kind, tenant));
  const created: string[] = [];
  for (const object of objects) {
    if (existing.has(object.versioned)) continue;
    const result = await runner.run(
      [
        'docker',
        kind,
        'create',
        ...tenant.labels('versioned').flatMap((label) => ['--label', label]),
        '--label',
        `${LABELS.name}=${object.name}`,
        object.versioned,
        '-',
      ],
      // Repeatable: a name that carries its content's hash either exists with this content or not at all.
      { stdin: object.content, allowFailure: true, repeatable: true },
    );
    if (result.code !== 0) {
      // The name carries the content's hash: if it appeared since the listing (a retried command
      // whose first attempt landed), it holds this very content, and nothing new was created.
      if (/already exists|AlreadyExists/i.test(result.stderr)) continue;
      throw new CommandError(`docker ${kind} create ${object.versioned}`, result.code, result.stderr);
    }
    created.push(object.versioned);
    log.info(`Created ${kind} ${object.versioned} (new content for "${object.name}")`);
  }
  return created;
}

/** Remove this client's versions that no retained release references (in-use ones are refused by Swarm anyway). */
export async function pruneObjects(
  runner: CommandRunner,
  log: Log,
  kind: ObjectKind,
  tenant: Tenant,
  keep: ReadonlySet<string>,
): Promise<string[]> {
  const stale = (await listVersioned(runner, kind, tenant)).filter((name) => !keep.has(name));
  const removed: string[] = [];
  for (const name of stale) {
    const result = await runner.run(['docker', kind, 'rm', name], { allowFailure: true });
    if (result.code === 0) removed.push(name);
  }
  if (removed.length > 0)
    log.info(`Removed ${removed.length} ${kind}(s) no retained release uses: ${removed.join(', ')}`);
  return removed;
}
