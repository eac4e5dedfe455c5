import { isAbsolute, relative } from 'node:path';
import { ConfigurationError } from '../core/errors.js';
import { readDeploySettings, readRestoreSettings, type Connection, type DeploySettings } from '../rollout/settings.js';
import { rollbackRequest, type RolloutRequest, type RolloutSettings } from '../rollout/request.js';
import { describeResult, runDeploy, type DeployResult } from '../rollout/deploy.js';
import { formatDiff } from '../rollout/plan.js';
import { shortImage } from '../rollout/watch.js';
import { EXIT_FAILURE, EXIT_OK, type CliIo, type Command } from './command.js';
import { agentSocket, readNamedFile } from './connection.js';
import {
  cliActor,
  cliInputs,
  cliLog,
  operatorCommand,
  printJson,
  withRunner,
  type OperatorDeps,
  type OperatorRun,
} from './operator.js';
import { formatTable, safeText } from './table.js';

/**
 * `plan`, `deploy` and `rollback`: the swarm-deploy action from a terminal. The flags become the
 * action's own inputs and go through the same validation (readDeploySettings) and the same
 * orchestration (runDeploy): lock, watch, verdict, whole-stack rollback, release history.
 * Secrets never travel in argv: they are read from a file or stdin.
 */

export const REGISTRY_PASSWORD_ENV = 'SWARM_DEPLOY_REGISTRY_PASSWORD';

/** Options of a rollout (deploy, rollback, scale). */
export const rolloutOptions = {
  timeout: { type: 'string' },
  'stuck-timeout': { type: 'string' },
  'lock-timeout': { type: 'string' },
  'keep-releases': { type: 'string' },
  'no-auto-rollback': { type: 'boolean', default: false },
  registry: { type: 'string' },
  'registry-username': { type: 'string' },
  'registry-password-file': { type: 'string' },
  domain: { type: 'string', multiple: true },
  tier: { type: 'string' },
  'service-port': { type: 'string' },
  'routed-service': { type: 'string' },
  entrypoint: { type: 'string' },
  'cert-resolver': { type: 'string' },
  policy: { type: 'string' },
  'allow-published-ports': { type: 'boolean', default: false },
  'max-replicas': { type: 'string' },
} as const;

const deployOptions = {
  ...rolloutOptions,
  client: { type: 'string' },
  'stack-file': { type: 'string' },
  image: { type: 'string' },
  env: { type: 'string', multiple: true },
  'secrets-file': { type: 'string' },
  config: { type: 'string', multiple: true },
  'git-sha': { type: 'string' },
  prune: { type: 'boolean', default: false },
  rendered: { type: 'boolean', default: false },
} as const;

export const ROLLOUT_HELP = `Rollout:
  --timeout <d>         how long the rollout may take (default 10m)
  --stuck-timeout <d>   new tasks pending this long count as stuck (default 60s)
  --lock-timeout <d>    how long to wait for another deploy of the client (default 10m)
  --keep-releases <n>   releases kept in the history (default 10)
  --no-auto-rollback    on failure, leave the services as Swarm left them
  --registry <host>     log in to this registry on the manager and deploy with registry auth
  --registry-username <u>
  --registry-password-file <file|->  the registry password (or ${REGISTRY_PASSWORD_ENV})

Policy (a rollback or a scale judges the recorded stack again by it, as a deploy judges its file):
  --domain <d>          a domain routed to the service by Traefik (repeat)
  --tier <t>            standard | enterprise (placement)
  --service-port <p>    the port Traefik routes to
  --routed-service <s>  the service Traefik routes to (default: the first)
  --entrypoint <e>      Traefik entrypoint     --cert-resolver <r>  Traefik certificate resolver
  --policy <p>          enforce | warn (default enforce)
  --allow-published-ports  allow ports published on the nodes
  --max-replicas <n>    the most replicas a service may ask for (default 10)`;

const STACK_HELP = `Stack (paths are relative to the current directory and must stay inside it):
  --client <name>       the client (the stack name); required
  --stack-file <file>   the stack file (default stack.yml)
  --image <ref>         the image for \${IMAGE}, ideally <repo>@sha256:<digest>
  --env KEY=VALUE       a value for \${KEY} in the stack file (repeat)
  --secrets-file <file|->  name=value lines, one per secret ("-" reads stdin); never on the command line
  --config name=<file>  a Swarm config from a file (repeat)
  --git-sha <sha>       the commit the image was built from (recorded in the release)
  --prune               remove services no longer in the stack file`;

const DEPLOY_USAGE = `Usage: swarm-deploy deploy --client <name> --image <ref> [options]

Deploys the client's stack with a watched rolling update; when any service fails, the whole stack
goes back. Exit 0 when deployed, 1 when rolled back or failed, 2 on a usage or configuration error.

${STACK_HELP}

${ROLLOUT_HELP}`;

const PLAN_USAGE = `Usage: swarm-deploy plan --client <name> --image <ref> [options]

Shows what a deploy would change against what runs now (images, env, labels, secrets, replicas,
services added or removed). Changes nothing.

${STACK_HELP}
  --rendered            also print the rendered stack`;

const ROLLBACK_USAGE = `Usage: swarm-deploy rollback <client> [release] [options]

Redeploys a recorded release's exact image digests, secrets and configs through the same watched
path, and records the rollback as a release. [release] is a release id, a git sha, an image tag or
"previous" (the default: the last deployed release before the current one with other images).

  --dry-run             show what the rollback would change, change nothing

${ROLLOUT_HELP}`;

/** The flag behind each field of a deploy, where its name differs from the field's. */
export const DEPLOY_FLAGS: Readonly<Record<string, string>> = { configs: '--config' };

/** How a rollback or a scale names the fields it takes as arguments. */
export const RESTORE_FLAGS: Readonly<Record<string, string>> = { client: '<client>', 'rollback-to': '[release]' };

type RolloutValues = {
  [K in keyof typeof rolloutOptions]?: (typeof rolloutOptions)[K] extends { multiple: true }
    ? string[]
    : (typeof rolloutOptions)[K]['type'] extends 'boolean'
      ? boolean
      : string;
};

/** Read a `--…-file` value: a path relative to the current directory, or `-` for stdin. */
async function fileOrStdin(path: string, io: CliIo, deps: OperatorDeps, flag: string): Promise<string> {
  return path === '-' ? deps.readStdin() : readNamedFile(path, io.cwd, flag);
}

/** Secret-bearing inputs: read from files, stdin or the environment, never from argv. */
export async function secretInputs(
  values: { 'secrets-file'?: string | undefined; 'registry-password-file'?: string | undefined },
  io: CliIo,
  deps: OperatorDeps,
): Promise<Record<string, string | undefined>> {
  if (values['secrets-file'] === '-' && values['registry-password-file'] === '-') {
    throw new ConfigurationError('only one of --secrets-file and --registry-password-file can read stdin');
  }
  const secrets = values['secrets-file'] ? await fileOrStdin(values['secrets-file'], io, deps, 'secrets') : undefined;
  const password = values['registry-password-file']
    ? await fileOrStdin(values['registry-password-file'], io, deps, 'registry-password')
    : deps.env[REGISTRY_PASSWORD_ENV] || undefined;
  return { secrets, 'registry-password': password };
}

/** Rollout flags as action inputs. */
export function rolloutInputs(values: RolloutValues): Record<string, string | undefined> {
  return {
    timeout: values.timeout,
    'stuck-timeout': values['stuck-timeout'],
    'lock-timeout': values['lock-timeout'],
    'keep-releases': values['keep-releases'],
    'auto-rollback': values['no-auto-rollback'] ? 'false' : undefined,
    registry: values.registry,
    'registry-username': values['registry-username'],
    domain: values.domain?.join(','),
    tier: values.tier,
    'service-port': values['service-port'],
    'routed-service': values['routed-service'],
    entrypoint: values.entrypoint,
    'cert-resolver': values['cert-resolver'],
    policy: values.policy,
    'allow-published-ports': values['allow-published-ports'] ? 'true' : undefined,
    'max-replicas': values['max-replicas'],
  };
}

/**
 * A path the operator typed, as the action expects it: relative to the workspace (the current
 * directory). An absolute path inside it is made relative; anything else is left for the
 * action's own check to refuse.
 */
export function workspacePath(path: string | undefined, cwd: string): string | undefined {
  if (path === undefined || !isAbsolute(path)) return path;
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** deploy/plan flags as the swarm-deploy action's inputs (without the secret-bearing ones). */
export function deployInputValues(
  values: {
    [K in keyof typeof deployOptions]?: (typeof deployOptions)[K] extends { multiple: true }
      ? string[]
      : (typeof deployOptions)[K]['type'] extends 'boolean'
        ? boolean
        : string;
  },
  cwd: string,
  dryRun: boolean,
): Record<string, string | undefined> {
  return {
    ...rolloutInputs(values),
    client: values.client,
    'stack-file': workspacePath(values['stack-file'], cwd),
    image: values.image,
    env: values.env?.join('\n'),
    configs: values.config
      ?.map((entry) => {
        const eq = entry.indexOf('=');
        return eq > 0 ? `${entry.slice(0, eq)}=${workspacePath(entry.slice(eq + 1), cwd)}` : entry;
      })
      .join('\n'),
    'git-sha': values['git-sha'],
    prune: values.prune ? 'true' : undefined,
    'dry-run': dryRun ? 'true' : undefined,
  };
}

/** The result as scripts read it (`--json`): the action's outputs, with times as ISO strings. */
export function resultJson(client: string, result: DeployResult, withRendered = false): Record<string, unknown> {
  return {
    client,
    status: result.status,
    unchanged: result.unchanged ?? false,
    reason: result.reason,
    release: result.release,
    restored: result.restored,
    image: result.image,
    previousImage: result.previousImage,
    durationMs: result.durationMs,
    services: result.services.map((s) => ({
      name: s.name,
      image: s.image,
      running: s.running,
      desired: s.desired,
      updateState: s.updateState,
    })),
    failures: result.failures,
    timeline: result.timeline.map((entry) => ({ at: new Date(entry.at).toISOString(), text: entry.text })),
    ...(result.diff ? { diff: result.diff } : {}),
    ...(withRendered && result.rendered !== undefined ? { rendered: result.rendered } : {}),
  };
}

/** The result as an operator reads it: the verdict, the services, and why it failed. */
export function formatResult(result: DeployResult, withRendered = false): string {
  const parts: string[] = [];
  if (result.status === 'planned') {
    if (withRendered && result.rendered !== undefined) parts.push(result.rendered.trimEnd(), '');
    parts.push(result.diff ? formatDiff(result.diff) : '(no changes computed)', '', describeResult(result));
    return parts.join('\n');
  }
  parts.push(safeText(describeResult(result)));
  if (result.services.length) {
    parts.push(
      '',
      formatTable(
        ['SERVICE', 'IMAGE', 'REPLICAS', 'UPDATE'],
        result.services.map((s) => [s.name, shortImage(s.image), `${s.running}/${s.desired}`, s.updateState]),
      ),
    );
  }
  for (const failure of result.failures) {
    parts.push('', `${failure.service} task ${failure.taskId.slice(0, 12)}: ${safeText(failure.error)}`);
    if (failure.logs)
      parts.push(
        ...failure.logs
          .split('\n')
          .slice(-10)
          .map((line) => `  | ${safeText(line)}`),
      );
  }
  return parts.join('\n');
}

/** Runs a request over one connection and prints the outcome; exit 0 deployed/planned, else 1. */
export async function runRollout(
  { connection, request }: { connection: Connection; request: RolloutRequest },
  io: CliIo,
  deps: OperatorDeps,
  log: ReturnType<typeof cliLog>,
  json: boolean,
  withRendered = false,
): Promise<number> {
  const result = await withRunner(deps, connection, log, (runner) => runDeploy({ runner, log }, request));
  if (json) printJson(io, resultJson(request.tenant.name, result, withRendered));
  else io.out(formatResult(result, withRendered));
  return result.status === 'deployed' || result.status === 'planned' ? EXIT_OK : EXIT_FAILURE;
}

/** What the CLI's rollouts run in: the working directory is the workspace. */
function cliEnv(io: CliIo, deps: OperatorDeps): NodeJS.ProcessEnv {
  return { ...deps.env, GITHUB_WORKSPACE: io.cwd };
}

/** The action's settings from flags (a deploy, a plan, a lock hold), with the operator as the actor unless the environment names one. */
export function cliSettings(
  values: Record<string, string | undefined>,
  io: CliIo,
  deps: OperatorDeps,
  log: ReturnType<typeof cliLog>,
): DeploySettings {
  const settings = readDeploySettings(cliInputs(values, log), cliEnv(io, deps), undefined, agentSocket(deps.env));
  settings.request.actor ??= cliActor(deps.env);
  return settings;
}

/**
 * What a rollback or a scale shares, from its flags (and the client argument): the connection and
 * the rollout settings, with the operator as the actor unless the environment names one.
 */
export async function cliRestoreSettings(
  run: Pick<OperatorRun<typeof rolloutOptions>, 'values' | 'io' | 'deps' | 'log' | 'connectionInputs'>,
  client: string,
  dryRun: boolean,
): Promise<{ connection: Connection; settings: RolloutSettings }> {
  const { values, io, deps, log } = run;
  const read = readRestoreSettings(
    cliInputs(
      {
        ...run.connectionInputs(),
        ...(await secretInputs(values, io, deps)),
        ...rolloutInputs(values),
        client,
        'dry-run': dryRun ? 'true' : undefined,
      },
      log,
    ),
    cliEnv(io, deps),
    agentSocket(deps.env),
  );
  read.settings.actor ??= cliActor(deps.env);
  return read;
}

const DEPLOY_MODES = {
  deploy: {
    summary: "deploy a client's stack: watched rolling update, whole-stack rollback on failure",
    usage: DEPLOY_USAGE,
  },
  plan: { summary: 'show what a deploy would change against what runs now (changes nothing)', usage: PLAN_USAGE },
} as const;

/** `deploy` and `plan`: the same flags and path; plan is a dry run that may print the rendered stack. */
function deployLikeCommand(mode: keyof typeof DEPLOY_MODES, overrides: Partial<OperatorDeps>): Command {
  return operatorCommand(
    {
      name: mode,
      ...DEPLOY_MODES[mode],
      options: deployOptions,
      positionals: { what: 'nothing', min: 0, max: 0 },
      flags: DEPLOY_FLAGS,
      async body({ values, io, deps, log, connectionInputs }) {
        const settings = cliSettings(
          {
            ...connectionInputs(),
            ...(await secretInputs(values, io, deps)),
            ...deployInputValues(values, io.cwd, mode === 'plan'),
          },
          io,
          deps,
          log,
        );
        return runRollout(settings, io, deps, log, values.json, values.rendered);
      },
    },
    overrides,
  );
}

const rollbackOptions = {
  ...rolloutOptions,
  'dry-run': { type: 'boolean', default: false },
} as const;

export function deployCommand(overrides: Partial<OperatorDeps> = {}): Command {
  return deployLikeCommand('deploy', overrides);
}

export function planCommand(overrides: Partial<OperatorDeps> = {}): Command {
  return deployLikeCommand('plan', overrides);
}

export function rollbackCommand(overrides: Partial<OperatorDeps> = {}): Command {
  return operatorCommand(
    {
      name: 'rollback',
      summary: 'redeploy a recorded release (default: the previous one) through the same watched path',
      usage: ROLLBACK_USAGE,
      options: rollbackOptions,
      positionals: { what: 'the client', min: 1, max: 2 },
      flags: RESTORE_FLAGS,
      async body(run) {
        const [client = '', release = 'previous'] = run.args;
        const { connection, settings } = await cliRestoreSettings(run, client, run.values['dry-run']);
        const request = rollbackRequest(settings, release);
        return runRollout({ connection, request }, run.io, run.deps, run.log, run.values.json);
      },
    },
    overrides,
  );
}
