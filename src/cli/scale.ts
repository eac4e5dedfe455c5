import { parseScaleTarget, MAX_REPLICAS } from '../rollout/scale.js';
import { scaleRequest } from '../rollout/request.js';
import { runDeploy } from '../rollout/deploy.js';
import { EXIT_FAILURE, EXIT_OK, type Command } from './command.js';
import { cliRestoreSettings, formatResult, resultJson, RESTORE_FLAGS, ROLLOUT_HELP, rolloutOptions } from './deploy.js';
import { operatorCommand, printJson, withRunner, type OperatorDeps } from './operator.js';

/**
 * `scale <client> <service>=<replicas>`: the manual `docker service scale` made safe. The current
 * release's recorded stack is deployed again with the new replica count, under the client's lock,
 * through the same watch and verdict as a deploy, and recorded in the history as kind `scale`, so
 * `status`, `history` and the next deploy's plan all show it.
 */

const USAGE = `Usage: swarm-deploy scale <client> <service>=<replicas> [options]

Sets a service's replica count (0 to ${MAX_REPLICAS}) by redeploying the client's current release with
it: the same lock, watch and verdict as a deploy, recorded in the release history as kind "scale".
Only a replicated service of the client's stack can be scaled.

  --dry-run             show what would change, change nothing

${ROLLOUT_HELP}`;

/** How scale names the fields it takes as arguments. */
export const SCALE_FLAGS: Readonly<Record<string, string>> = { ...RESTORE_FLAGS, scale: '<service>=<replicas>' };

const scaleOptions = {
  ...rolloutOptions,
  'dry-run': { type: 'boolean', default: false },
} as const;

export function scaleCommand(overrides: Partial<OperatorDeps> = {}): Command {
  return operatorCommand(
    {
      name: 'scale',
      summary: "set a service's replicas through the watched deploy path, recorded as a release",
      usage: USAGE,
      options: scaleOptions,
      positionals: { what: 'the client and <service>=<replicas>', min: 2, max: 2 },
      flags: SCALE_FLAGS,
      async body(run) {
        const { values, io, deps, log } = run;
        const [client = '', spec = ''] = run.args;
        const target = parseScaleTarget(spec);
        const { connection, settings } = await cliRestoreSettings(run, client, values['dry-run']);
        const request = scaleRequest(settings, target);
        const fullName = request.tenant.scoped(request.tenant.unscoped(target.service));
        return withRunner(deps, connection, log, async (runner) => {
          // A count the service already runs (with the release as recorded) changes nothing: the
          // deploy path answers it from one read, without taking the lock or recording a release.
          const result = await runDeploy({ runner, log }, request);
          if (result.unchanged && result.status === 'deployed') {
            const message = `${fullName} already runs ${target.replicas} replica${target.replicas === 1 ? '' : 's'}: nothing to do`;
            if (values.json)
              printJson(io, { client, status: 'unchanged', service: fullName, replicas: target.replicas });
            else io.out(message);
            return EXIT_OK;
          }
          if (values.json)
            printJson(io, { ...resultJson(client, result), service: fullName, replicas: target.replicas });
          else io.out(formatResult(result));
          return result.status === 'deployed' || result.status === 'planned' ? EXIT_OK : EXIT_FAILURE;
        });
      },
    },
    overrides,
  );
}
