import { describeHolder, holdMaintenance, readLock, releaseMaintenance } from '../state/lock.js';
import { Tenant } from '../core/tenant.js';
import { EXIT_OK, UsageError, type Command } from './command.js';
import { cliSettings } from './deploy.js';
import { operatorCommand, printJson, withRunner, type OperatorDeps } from './operator.js';
import { safeText } from './table.js';

/**
 * `lock <client> hold|release|show`: the maintenance hold of the action's `lock` input, for
 * on-call. A hold blocks every deploy of the client (from any repository) until it is released.
 */

const USAGE = `Usage: swarm-deploy lock <client> hold|release|show [options]

  hold      block the client's deploys (waits for a running deploy to finish first)
  release   end a maintenance hold (a running deploy's lock is never removed this way)
  show      who holds the client's lock, if anyone

  --message <m>         why the deploys are held (shown to whoever is refused)
  --lock-timeout <d>    how long hold waits for a running deploy (default 10m)`;

const ACTIONS = ['hold', 'release', 'show'] as const;
type Action = (typeof ACTIONS)[number];

const lockOptions = {
  message: { type: 'string' },
  'lock-timeout': { type: 'string' },
} as const;

export function lockCommand(overrides: Partial<OperatorDeps> = {}): Command {
  return operatorCommand(
    {
      name: 'lock',
      summary: "hold a client's deploys for maintenance, release the hold, or show who holds its lock",
      usage: USAGE,
      options: lockOptions,
      positionals: { what: 'the client and hold, release or show', min: 2, max: 2 },
      flags: { client: '<client>', lock: 'hold|release', 'lock-message': '--message' },
      async body(run) {
        const { io, values, deps, log, connectionInputs } = run;
        const [client = '', word = ''] = run.args;
        const action = ACTIONS.find((a) => a === word) as Action | undefined;
        if (!action) throw new UsageError(`expected hold, release or show, got ${JSON.stringify(word)}`);
        if (action !== 'hold' && values.message !== undefined) throw new UsageError('--message goes with hold only');
        if (action === 'show') {
          const connection = run.connection();
          Tenant.parse(client, 'client');
          const lock = await withRunner(deps, connection, log, (runner) => readLock(runner, client));
          if (values.json) printJson(io, { client, lock: lock?.holder ?? null });
          else
            io.out(lock ? `${client}: ${safeText(describeHolder(lock.holder, deps.now()))}` : `${client}: not locked`);
          return EXIT_OK;
        }
        const settings = cliSettings(
          {
            ...connectionInputs(),
            client,
            lock: action,
            'lock-message': values.message,
            'lock-timeout': values['lock-timeout'],
          },
          io,
          deps,
          log,
        );
        const { request } = settings;
        return withRunner(deps, settings.connection, log, async (runner) => {
          if (action === 'hold') {
            const lock = await holdMaintenance({
              runner,
              log,
              client,
              runUrl: request.runUrl,
              actor: request.actor,
              waitMs: request.lockWaitMs,
              message: settings.lockMessage,
            });
            if (values.json) printJson(io, { client, status: 'held', lock: lock.holder });
            else io.out(`Deploys of ${client} are held: ${safeText(describeHolder(lock.holder, lock.holder.since))}`);
          } else {
            const released = await releaseMaintenance(runner, log, client);
            if (values.json) printJson(io, { client, status: released ? 'released' : 'not-locked' });
            else io.out(released ? `Deploys of ${client} may run again.` : `${client} was not locked.`);
          }
          return EXIT_OK;
        });
      },
    },
    overrides,
  );
}
