/**
 * The gate: what a tenant's key runs on a manager, and all it can run. The client comes from the
 * key's forced command (`--client <name>`), never from the request or from the command the SSH
 * client asked for. One request (stdin) is read and checked, the tenant binding is applied before
 * anything runs, and the swarm-deploy step body runs here with docker on this manager, reporting
 * through protocol lines (stdout) that the action on the runner renders.
 */
import { ConfigurationError, errorMessage } from '../core/errors.js';
import type { CommandRunner } from '../core/exec.js';
import { Inputs, mapInputs } from '../core/inputs.js';
import type { Annotation, Log } from '../core/log.js';
import type { Clock } from '../core/retry.js';
import { runAction, type ActionContext, type RunResult } from '../core/run.js';
import { Tenant } from '../core/tenant.js';
import type { PolicySettings } from '../compose/policy.js';
import { prepareStack } from '../rollout/deploy.js';
import type { RolloutRequest } from '../rollout/request.js';
import { readDeployJob, requestFiles } from '../rollout/settings.js';
import { releaseLock } from '../state/lock.js';
import { deployStep } from '../steps/deploy.js';
import { encodeEvent, parseRequest, type GateEvent, type GateRequest } from '../transport/gate-protocol.js';
import { boundPolicy, checkRegistry, checkRequestInputs } from './binding.js';
import type { TenantRegistry } from './registry.js';

export interface GateOptions {
  /** The forced command's argument: `--client <name>`. */
  client: string;
  /** The request as read from stdin (bounded by the caller). */
  stdin: string;
  /** Writes one protocol line. */
  write(line: string): void;
  registry: TenantRegistry;
  /** Runs docker on this manager. */
  runner: CommandRunner;
  clock: Clock;
}

/** The forced command's arguments. Anything else is the platform's own mistake in authorized_keys. */
export function parseGateArguments(argv: readonly string[]): { client: string } {
  if (argv.length !== 2 || argv[0] !== '--client' || argv[1] === undefined) {
    throw new Error('usage: gate --client <client>');
  }
  return { client: argv[1] };
}

/** A log whose every call is a protocol line. */
function protocolLog(emit: (event: GateEvent) => void): Log {
  const line = (level: 'debug' | 'info' | 'warning' | 'error', message: string, properties?: Annotation) =>
    emit({ t: 'log', level, message, ...(properties ? { properties } : {}) });
  return {
    info: (m) => line('info', m),
    debug: (m) => line('debug', m),
    warning: (m, a) => line('warning', m, a),
    error: (m, a) => line('error', m, a),
    group: (name, fn) => {
      line('info', name);
      return fn();
    },
    summary: async (markdown) => emit({ t: 'summary', markdown }),
    mask: (value) => emit({ t: 'mask', value }),
  };
}

/** Serves one request; resolves to the process's exit code. Every answer ends with an `end` line. */
export async function runGate(options: GateOptions): Promise<number> {
  const emit = (event: GateEvent) => options.write(encodeEvent(event));
  const log = protocolLog(emit);
  let request: GateRequest;
  let tenant: Tenant;
  try {
    tenant = Tenant.parse(options.client, 'client');
    request = parseRequest(options.stdin);
  } catch (error) {
    emit({ t: 'end', failure: `The gate refused the request: ${errorMessage(error)}`, configuration: null });
    return 2;
  }
  let configuration: { field: string; message: string } | null = null;
  const outcome = await runAction(
    async (context) => {
      try {
        return await serve(request, tenant, context, options);
      } catch (error) {
        if (error instanceof ConfigurationError && error.field !== undefined) {
          configuration = { field: error.field, message: error.message };
        }
        throw error;
      }
    },
    {
      log,
      inputs: new Inputs(mapInputs(request.inputs), (value) => log.mask(value)),
      hooks: {
        setOutput: (name, value) => emit({ t: 'output', name, value }),
        setFailed: () => undefined,
        // Saved at once, so a gate killed mid-deploy has already told the runner which lock it holds.
        state: { save: (name, value) => emit({ t: 'state', name, value }), get: () => '' },
      },
    },
  );
  emit({ t: 'end', failure: outcome.failure ?? null, configuration });
  return outcome.failure === undefined ? 0 : 1;
}

async function serve(
  request: GateRequest,
  tenant: Tenant,
  { inputs, log, outputs, state }: ActionContext,
  options: GateOptions,
): Promise<RunResult> {
  if (request.op === 'release-lock' && request.lock) return releaseTenantLock(request.lock, tenant, log, options);

  // Decided before anything runs: the client, the inputs, the platform's entry.
  checkRequestInputs(request.inputs, tenant.name);
  const entry = await options.registry.read(tenant.name);
  if (!entry) throw new ConfigurationError(`${tenant.name} is not registered on this platform`, 'client');
  outputs.set('status', 'failed');
  const job = readDeployJob(inputs, { ...request.context }, requestFiles(request.files));
  // Judged against the entry first without the images, then with the images the stack would run
  // (from its rendering under that policy; a stack that does not render is refused by the step itself).
  const bound = boundPolicy(job.request.policy, inputs, entry, []);
  const policy = boundPolicy(job.request.policy, inputs, entry, stackImages(job.request, bound, options.clock));
  checkRegistry(job.request.registry, entry);
  return deployStep(
    { ...job, request: { ...job.request, policy } },
    {
      runner: options.runner,
      log,
      outputs,
      clock: options.clock,
      onLock: (lock) => state.save('lock', JSON.stringify({ id: lock.id, name: lock.name })),
      onLockReleased: () => state.save('lock', ''),
    },
  );
}

/** The images a deploy would run, each service's, rendered under `policy`; none for a rollback (its images were judged when deployed). */
function stackImages(request: RolloutRequest, policy: PolicySettings, clock: Clock): string[] {
  if (request.kind !== 'deploy') return [];
  try {
    const release = { id: 'gate', time: new Date(clock.now()).toISOString() };
    return prepareStack({ ...request, policy }, release).rendered.services.map((service) => service.image);
  } catch {
    return [];
  }
}

/** Swarm object IDs: lowercase letters and digits, so the ID cannot read as an option. */
const OBJECT_ID = /^[a-z0-9]{1,64}$/;

/**
 * The post step's release of a lock its main step took: only the client's own lock config, checked
 * by the name Swarm holds for that ID, never by what the request says.
 */
async function releaseTenantLock(
  lock: { id: string; name: string },
  tenant: Tenant,
  log: Log,
  options: GateOptions,
): Promise<RunResult> {
  if (lock.name !== tenant.lockConfig || !OBJECT_ID.test(lock.id)) {
    throw new ConfigurationError(`this key may release the deploy lock of ${tenant.name} only`);
  }
  const found = await options.runner.run(['docker', 'config', 'inspect', '--format', '{{.Spec.Name}}', lock.id], {
    allowFailure: true,
  });
  if (found.code !== 0) {
    log.debug(`lock ${lock.name} (${lock.id}) was already gone`);
    return {};
  }
  if (found.stdout.trim() !== tenant.lockConfig) {
    throw new ConfigurationError(`config ${lock.id} is not the deploy lock of ${tenant.name}`);
  }
  await releaseLock(options.runner, log, lock);
  return {};
}
