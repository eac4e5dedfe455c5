import type { Release } from '../state/history.js';
import { readHistory } from '../state/history.js';
import { Tenant } from '../core/tenant.js';
import { imageVersion, summarizeRelease } from '../views/overview.js';
import { EXIT_OK, type Command } from './command.js';
import { operatorCommand, printJson, withRunner, type OperatorDeps } from './operator.js';
import { clipText, formatTable, formatTime, safeText } from './table.js';

/** `history <client>`: the client's recorded releases, newest first. Read-only. */

const USAGE = `Usage: swarm-deploy history <client> [options]

The client's recorded releases, newest first: id, time, kind (deploy, rollback, scale), verdict,
git sha, image and actor. Any id, git sha or image tag shown here can be given to rollback.`;

/** What a release changed, in a few words: what it restored, the replicas it set, why it failed. */
export function releaseNote(release: Release | Omit<Release, 'stack'>): string {
  if (release.verdict !== 'deployed' && release.reason) return clipText(safeText(release.reason), 80);
  if (release.kind === 'rollback' && release.restored) return `restores ${release.restored}`;
  if (release.kind === 'scale') {
    const tenant = Tenant.recorded(release.client);
    return Object.entries(release.replicas)
      .map(([name, count]) => `${tenant.unscoped(name)}=${count}`)
      .join(' ');
  }
  return '';
}

/** The image a release was asked for, or the versions its services ran. */
function releaseImage(release: Omit<Release, 'stack'>): string {
  if (release.imageRef) return imageVersion(release.imageRef);
  return [...new Set(Object.values(release.images).map(imageVersion))].join(', ');
}

export function formatHistory(client: string, releases: readonly Omit<Release, 'stack'>[]): string {
  if (releases.length === 0) return `No releases of ${client} are recorded.`;
  return formatTable(
    ['RELEASE', 'TIME', 'KIND', 'VERDICT', 'GIT', 'IMAGE', 'ACTOR', 'NOTE'],
    releases.map((r) => [
      r.id,
      formatTime(r.time),
      r.kind,
      r.verdict,
      r.gitSha?.slice(0, 7) ?? '',
      releaseImage(r),
      clipText(safeText(r.actor ?? ''), 40),
      releaseNote(r),
    ]),
  );
}

export function historyCommand(overrides: Partial<OperatorDeps> = {}): Command {
  return operatorCommand(
    {
      name: 'history',
      summary: "a client's recorded releases (id, time, kind, verdict, git sha, image, actor)",
      usage: USAGE,
      options: {},
      positionals: { what: 'the client', min: 1, max: 1 },
      flags: { client: '<client>' },
      async body(run) {
        const [client = ''] = run.args;
        const connection = run.connection();
        Tenant.parse(client, 'client');
        const releases = await withRunner(run.deps, connection, run.log, (runner) => readHistory(runner, client));
        const summaries = releases.map(summarizeRelease);
        if (run.values.json) printJson(run.io, { client, releases: summaries });
        else run.io.out(formatHistory(client, summaries));
        return EXIT_OK;
      },
    },
    overrides,
  );
}
