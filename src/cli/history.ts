import { parseArgs } from 'node:util';
import { readConnection } from '../rollout/settings.js';
import type { Release } from '../state/history.js';
import { readHistory } from '../state/history.js';
import { Tenant } from '../core/tenant.js';
import { imageVersion, summarizeRelease } from '../views/overview.js';
import { EXIT_OK, type CliIo, type Command } from './command.js';
import { CONNECTION_HELP, connectionInputs, connectionOptions } from './connection.js';
import {
  cliInputs,
  cliLog,
  operate,
  operatorDeps,
  OUTPUT_HELP,
  outputOptions,
  positionalArgs,
  printJson,
  withRunner,
  type OperatorDeps,
} from './operator.js';
import { clipText, formatTable, formatTime, safeText } from './table.js';

/** `history <client>`: the client's recorded releases, newest first. Read-only. */

const USAGE = `Usage: swarm-deploy history <client> [options]

The client's recorded releases, newest first: id, time, kind (deploy, rollback, scale), verdict,
git sha, image and actor. Any id, git sha or image tag shown here can be given to rollback.

${CONNECTION_HELP}

${OUTPUT_HELP}`;

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

async function runHistory(args: string[], io: CliIo, deps: OperatorDeps): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { ...connectionOptions, ...outputOptions },
  });
  if (values.help) {
    io.out(USAGE);
    return EXIT_OK;
  }
  const [client = ''] = positionalArgs(positionals, 'the client');
  const log = cliLog(io, values.verbose);
  return operate(
    io,
    'history',
    log,
    async () => {
      const connection = readConnection(cliInputs(connectionInputs(values, deps.env, io.cwd), log));
      Tenant.parse(client, 'client');
      const releases = await withRunner(deps, connection, log, (runner) => readHistory(runner, client));
      const summaries = releases.map(summarizeRelease);
      if (values.json) printJson(io, { client, releases: summaries });
      else io.out(formatHistory(client, summaries));
      return EXIT_OK;
    },
    { client: '<client>' },
  );
}

export function historyCommand(overrides: Partial<OperatorDeps> = {}): Command {
  return {
    summary: "a client's recorded releases (id, time, kind, verdict, git sha, image, actor)",
    usage: USAGE,
    run: (args, io) => runHistory(args, io, operatorDeps(overrides)),
  };
}
