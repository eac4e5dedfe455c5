import { LocalRunner, streamCommand, type CommandRunner } from './exec.js';
import type { Inputs } from './inputs.js';
import { actionsLog, type Log } from './log.js';
import { systemClock, type Clock } from './retry.js';
import { runAction, type ActionContext, type RunHooks, type RunResult } from './run.js';

/**
 * Everything an action reaches outside itself, in one value: tests replace any part of it, the
 * runner gets the real ones. An action adds its own seams (an ECR client, a probe, how to reach
 * the managers) with their defaults in `defineAction({ seams })`.
 */
export interface Deps {
  log: Log;
  /** Runs a command on this machine (docker, git). */
  runner: CommandRunner;
  /** Runs a long command on this machine with its output streamed line by line (docker build, push). */
  stream: typeof streamCommand;
  clock: Clock;
  /** Jitter for retries. */
  random: () => number;
  fetch: typeof fetch;
  /** The workflow run's environment (GITHUB_SHA, GITHUB_WORKSPACE, RUNNER_TEMP, …). */
  env: NodeJS.ProcessEnv;
}

export function defaultDeps(): Deps {
  return {
    log: actionsLog,
    runner: new LocalRunner(),
    stream: streamCommand,
    clock: systemClock,
    random: Math.random,
    fetch: (input, init) => fetch(input, init),
    env: process.env,
  };
}

export type StepContext<Seams extends object> = ActionContext & { deps: Deps & Seams };

export type Step<Seams extends object> = (context: StepContext<Seams>) => Promise<RunResult | void>;

export interface ActionDefinition<Seams extends object> {
  /** The defaults of the action's own seams, made for each run. */
  seams?: () => Seams;
  main: Step<Seams>;
  /** The post step (runs: post in action.yml): it reads the state its main step saved. */
  post?: Step<Seams>;
}

/** How a test (or the lab) runs a step: the inputs, where outputs and state go, and any dependency replaced. */
export interface StepOptions<Seams extends object> {
  inputs?: Inputs;
  hooks?: RunHooks;
  deps?: Partial<Deps & Seams>;
}

export interface Action<Seams extends object> {
  main(options?: StepOptions<Seams>): Promise<{ outputs: Map<string, string>; failure?: string }>;
  /** Does nothing for an action without a post step. */
  post(options?: StepOptions<Seams>): Promise<{ outputs: Map<string, string>; failure?: string }>;
}

/**
 * The one way an action is declared: its steps run inside `runAction` (outputs written before a
 * failure, configuration errors as `Input "x": …`, masks through the log), each with the same
 * `Deps` value.
 */
export function defineAction<Seams extends object = Record<never, never>>(
  definition: ActionDefinition<Seams>,
): Action<Seams> {
  const step =
    (body: Step<Seams> | undefined) =>
    (options: StepOptions<Seams> = {}) => {
      const deps = { ...defaultDeps(), ...definition.seams?.(), ...options.deps } as Deps & Seams;
      return runAction((context) => (body ? body({ ...context, deps }) : Promise.resolve()), {
        log: deps.log,
        ...(options.inputs ? { inputs: options.inputs } : {}),
        ...(options.hooks ? { hooks: options.hooks } : {}),
      });
    };
  return { main: step(definition.main), post: step(definition.post) };
}
