/**
 * The runner's side of the gate (`via: gate`): the step's inputs and the repository files they name
 * go to the gate on a manager as one request over one SSH exec (stdin), and the gate's answer, JSON
 * lines, is rendered as the step would report it itself: logs and annotations, masks, outputs, the
 * post step's state, the job summary, and the verdict.
 */
import { ConfigurationError } from '../core/errors.js';
import type { CommandRunner } from '../core/exec.js';
import type { Inputs } from '../core/inputs.js';
import type { Log } from '../core/log.js';
import type { Outputs, RunResult, StepState } from '../core/run.js';
import { prepareStack } from '../rollout/deploy.js';
import { githubContext, type DeployJob } from '../rollout/settings.js';
import {
  CONTEXT_KEYS,
  encodeRequest,
  ResponseReader,
  type GateEvent,
  type GateLock,
  type GateRequest,
} from '../transport/gate-protocol.js';
import { tailLines } from '../core/errors.js';

/**
 * The argv sent to the manager. The deploy user's forced command runs the gate whatever was asked:
 * this only names the intent in the manager's logs.
 */
export const GATE_COMMAND: readonly string[] = ['swarm-deploy-gate'];

/** State names the gate may set for the post step: the lock it took. */
const GATE_STATE = new Set(['lock']);

/**
 * The inputs of a deploy request: every swarm-deploy input except those that choose how to reach
 * the managers (`host`, `port`, `user`, `ssh-key`, `ssh-key-passphrase`, `known-hosts`, `via`).
 * The gate refuses any other name.
 */
export const GATE_INPUTS = [
  'client',
  'stack-file',
  'image',
  'env',
  'secrets',
  'configs',
  'registry',
  'registry-username',
  'registry-password',
  'timeout',
  'stuck-timeout',
  'auto-rollback',
  'rollback-to',
  'dry-run',
  'prune',
  'keep-releases',
  'policy',
  'allow-published-ports',
  'max-replicas',
  'default-cpus',
  'default-memory',
  'tier',
  'domain',
  'service-port',
  'routed-service',
  'entrypoint',
  'cert-resolver',
  'lock',
  'lock-message',
  'lock-timeout',
  'lock-expiry',
  'git-sha',
] as const;

/** A stable placeholder release: the runner renders the stack only to learn which files it refers to. */
const COLLECTING_RELEASE = { id: '00000000-000000-000', time: '1970-01-01T00:00:00.000Z' };

/**
 * The deploy request for the gate. `job` was read with a recording workspace (`recorded`): the
 * stack file and the `configs` files are in it already; the files the stack itself refers to
 * (`env_file`, `configs.<key>.file`) are found by rendering the stack here once. Whatever that
 * rendering decides is dropped: the gate judges the stack itself, by the platform's policy.
 */
export function gateDeployRequest(
  inputs: Inputs,
  job: DeployJob,
  recorded: Map<string, Uint8Array>,
  env: NodeJS.ProcessEnv,
): string {
  if (job.request.kind === 'deploy' && job.lock === 'deploy') {
    try {
      prepareStack(job.request, COLLECTING_RELEASE);
    } catch {
      // The gate reports the same problems, judged by the platform's policy.
    }
  }
  const files: Record<string, string> = {};
  for (const [path, bytes] of recorded) {
    try {
      files[path] = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new ConfigurationError(`"${path}" is not valid UTF-8 text`, 'stack-file');
    }
  }
  const values: Record<string, string> = {};
  for (const name of GATE_INPUTS) {
    const value = inputs.given(name);
    if (value !== undefined) values[name] = value;
  }
  return encodeRequest({ op: 'deploy', inputs: values, files, context: runContext(env), lock: null });
}

/** The post step's request: release the lock the main step's gate call took. */
export function gateReleaseRequest(lock: GateLock, env: NodeJS.ProcessEnv): string {
  return encodeRequest({ op: 'release-lock', inputs: {}, files: {}, context: runContext(env), lock });
}

/** The run's GitHub variables that name it (the head commit of a pull request as GITHUB_SHA). */
function runContext(env: NodeJS.ProcessEnv): GateRequest['context'] {
  const context: Record<string, string> = {};
  for (const key of CONTEXT_KEYS) {
    const value = env[key];
    if (value !== undefined && value !== '') context[key] = value;
  }
  const { gitSha } = githubContext(env);
  if (gitSha !== undefined) context.GITHUB_SHA = gitSha;
  return context;
}

export interface GateSink {
  log: Log;
  outputs: Outputs;
  state: StepState;
}

/**
 * Sends one request and renders the answer as it streams. The call is not repeated on a dropped
 * connection (the gate may have deployed). An answer that ends without its verdict is a failure;
 * a configuration verdict is thrown as the ConfigurationError it was on the manager.
 */
export async function callGate(runner: CommandRunner, request: string, sink: GateSink): Promise<RunResult> {
  const pending: Promise<void>[] = [];
  const reader = new ResponseReader((event) => {
    const done = render(event, sink);
    if (done) pending.push(done);
  });
  const result = await runner.run(GATE_COMMAND, {
    stdin: request,
    repeatable: false,
    allowFailure: true,
    onStdoutLine: (line) => reader.push(line),
  });
  await Promise.all(pending);
  const verdict = reader.verdict();
  if (verdict.configuration) throw new ConfigurationError(verdict.configuration.message, verdict.configuration.field);
  if (verdict.failure === null) return {};
  const stderr = tailLines(result.stderr, 10);
  if (stderr !== '') sink.log.debug(`gate stderr (exit ${String(result.code)}):\n${stderr}`);
  return { failure: verdict.failure };
}

function render(event: Exclude<GateEvent, { t: 'end' }>, { log, outputs, state }: GateSink): Promise<void> | undefined {
  switch (event.t) {
    case 'log':
      if (event.level === 'debug') log.debug(event.message);
      else if (event.level === 'warning') log.warning(event.message, event.properties);
      else if (event.level === 'error') log.error(event.message, event.properties);
      else log.info(event.message);
      return undefined;
    case 'mask':
      log.mask(event.value);
      return undefined;
    case 'output':
      outputs.set(event.name, event.value);
      return undefined;
    case 'state':
      if (GATE_STATE.has(event.name)) state.save(event.name, event.value);
      else log.debug(`the gate set an unknown state "${event.name}"; ignored`);
      return undefined;
    case 'summary':
      return log.summary(event.markdown);
  }
}
