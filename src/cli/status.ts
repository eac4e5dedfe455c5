import { describeHolder, type LockHolder } from '../state/lock.js';
import { Tenant } from '../core/tenant.js';
import {
  readClientStatus,
  readClusterOverview,
  type ClientOverview,
  type ClientStatus,
  type ReleaseSummary,
} from '../views/overview.js';
import { shortImage } from '../rollout/watch.js';
import { EXIT_OK, type Command } from './command.js';
import { operatorCommand, printJson, withRunner, type OperatorDeps } from './operator.js';
import { clipText, formatTable, formatTime, safeText } from './table.js';

/**
 * `status [client]`: what runs where. Without a client, one row per client stack on the cluster
 * (version, replicas running/desired, last release and its verdict, lock); with a client, its
 * services and tasks. Read-only.
 */

const USAGE = `Usage: swarm-deploy status [client] [options]

Without a client: every client stack on the cluster, with its version, replicas running/desired,
last release and its verdict, and whether its deploys are locked.
With a client: its last release, lock, services and tasks (current ones and recent failures).`;

function lockCell(lock: LockHolder | undefined): string {
  if (!lock) return '-';
  return lock.kind === 'maintenance' ? 'held' : 'deploying';
}

export function formatOverview(rows: readonly ClientOverview[]): string {
  if (rows.length === 0) return 'No client stacks on the cluster.';
  return formatTable(
    ['CLIENT', 'VERSION', 'REPLICAS', 'LAST RELEASE', 'KIND', 'VERDICT', 'UPDATE', 'LOCK'],
    rows.map((row) => [
      row.client,
      row.versions.length > 2
        ? `${row.versions.slice(0, 2).join(', ')} +${row.versions.length - 2}`
        : row.versions.join(', '),
      `${row.running}/${row.desired}`,
      row.release?.id ?? '',
      row.release?.kind ?? '',
      row.release?.verdict ?? '',
      row.updateStates.join(', '),
      lockCell(row.lock),
    ]),
  );
}

/** `release 20261123-034512-a1b (deploy, deployed) at … by …, git abc1234`. */
export function describeRelease(release: ReleaseSummary | undefined): string {
  if (!release) return 'no release recorded';
  const details = [
    `at ${formatTime(release.time)}`,
    release.actor ? `by ${safeText(release.actor)}` : undefined,
    release.gitSha ? `git ${release.gitSha.slice(0, 7)}` : undefined,
    release.restored ? `restores ${release.restored}` : undefined,
  ].filter(Boolean);
  const why = release.reason ? `\n  why: ${clipText(safeText(release.reason), 300)}` : '';
  return `release ${release.id} (${release.kind}, ${release.verdict}) ${details.join(', ')}${why}`;
}

export function formatClientStatus(status: ClientStatus, now: number): string {
  const lines = [
    `${status.client}: ${describeRelease(status.release)}`,
    `lock: ${status.lock ? safeText(describeHolder(status.lock, now)) : 'none'}`,
    '',
  ];
  if (status.services.length === 0) {
    lines.push(`No services of ${status.client} run on the cluster.`);
    return lines.join('\n');
  }
  lines.push(
    formatTable(
      ['SERVICE', 'VERSION', 'REPLICAS', 'UPDATE', 'IMAGE'],
      status.services.map((s) => [
        s.name,
        s.version,
        s.mode === 'global' ? `${s.running}/${s.desired} (global)` : `${s.running}/${s.desired}`,
        s.updateMessage ? `${s.updateState}: ${clipText(safeText(s.updateMessage), 60)}` : s.updateState,
        shortImage(s.image),
      ]),
    ),
    '',
    status.tasks.length === 0
      ? 'No tasks.'
      : formatTable(
          ['TASK', 'ID', 'STATE', 'DESIRED', 'SINCE', 'VERSION', 'ERROR'],
          status.tasks.map((t) => [
            t.name,
            t.id.slice(0, 12),
            t.state,
            t.desiredState,
            formatTime(t.since),
            t.version,
            t.error ? clipText(safeText(t.error), 80) : '',
          ]),
        ),
  );
  return lines.join('\n');
}

export function statusCommand(overrides: Partial<OperatorDeps> = {}): Command {
  return operatorCommand(
    {
      name: 'status',
      summary: 'every client stack on the cluster, or one client in detail (services, tasks, last release)',
      usage: USAGE,
      options: {},
      positionals: { what: 'the client', min: 0, max: 1 },
      flags: { client: '<client>' },
      async body(run) {
        const [client] = run.args;
        const { io, values } = run;
        const connection = run.connection();
        if (client !== undefined) Tenant.parse(client, 'client');
        return withRunner(run.deps, connection, run.log, async (runner) => {
          if (client === undefined) {
            const rows = await readClusterOverview(runner);
            if (values.json) printJson(io, { clients: rows });
            else io.out(formatOverview(rows));
          } else {
            const status = await readClientStatus(runner, client);
            if (values.json) printJson(io, status);
            else io.out(formatClientStatus(status, run.deps.now()));
          }
          return EXIT_OK;
        });
      },
    },
    overrides,
  );
}
