import { ConfigurationError } from '../core/errors.js';
import { inspectServices } from '../state/docker.js';
import { currentRelease, readHistory } from '../state/history.js';
import { planScale, parseScaleTarget, MAX_REPLICAS } from '../rollout/scale.js';
import { desiredReplicas } from '../rollout/verdict.js';
import { EXIT_OK, type Command } from './command.js';
import {
  cliSettings,
  DEPLOY_FLAGS,
  formatResult,
  resultJson,
  ROLLOUT_HELP,
  rolloutInputs,
  rolloutOptions,
  secretInputs,
} from './deploy.js';
import { runDeploy } from '../rollout/deploy.js';
import { operatorCommand, printJson, withRunner, type OperatorDeps } from './operator.js';
import { EXIT_FAILURE } from './command.js';

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
      flags: { ...DEPLOY_FLAGS, client: '<client>', scale: '<service>=<replicas>' },
      async body({ values, args, io, deps, log, connectionInputs }) {
        const [client = '', spec = ''] = args;
        const target = parseScaleTarget(spec, 'scale');
        // `rollback-to` is only a placeholder to read the settings without a stack file; the release
        // to redeploy is the current one, looked up once connected.
        const settings = cliSettings(
          {
            ...connectionInputs(),
            ...(await secretInputs(values, io, deps)),
            ...rolloutInputs(values),
            client,
            'rollback-to': 'previous',
            'dry-run': values['dry-run'] ? 'true' : undefined,
          },
          io,
          deps,
          log,
        );
        const { request } = settings;
        return withRunner(deps, settings.connection, log, async (runner) => {
          const current = currentRelease(await readHistory(runner, client));
          if (!current) {
            throw new ConfigurationError(
              `no deployed release of ${client} is recorded; deploy it with swarm-deploy before scaling it`,
              'client',
            );
          }
          const change = planScale(current, request.tenant, target, 'scale');
          const live = (await inspectServices(runner, [change.fullName])).get(change.fullName);
          log.info(
            `Scaling ${change.fullName} from ${live ? desiredReplicas(live) : change.from} to ${change.to} replicas (release ${current.id})`,
          );
          request.rollbackTo = current.id;
          request.kind = 'scale';
          request.replicas = { [change.service]: change.to };
          // A count the service already runs (with the release as recorded) changes nothing: the
          // deploy path answers it from one read, without taking the lock or recording a release.
          const result = await runDeploy({ runner, log }, request);
          if (result.unchanged && result.status === 'deployed') {
            const message = `${change.fullName} already runs ${change.to} replica${change.to === 1 ? '' : 's'}: nothing to do`;
            if (values.json)
              printJson(io, { client, status: 'unchanged', service: change.fullName, replicas: change.to });
            else io.out(message);
            return EXIT_OK;
          }
          if (values.json)
            printJson(io, { ...resultJson(client, result), service: change.fullName, replicas: change.to });
          else io.out(formatResult(result));
          return result.status === 'deployed' || result.status === 'planned' ? EXIT_OK : EXIT_FAILURE;
        });
      },
    },
    overrides,
  );
}
