import * as core from '@actions/core';
import { CommandError, ConfigurationError, ConnectionError, errorMessage, isNetworkError } from './errors.js';
import { Inputs, environmentInputs } from './inputs.js';
import { actionsLog, type Log } from './log.js';

/** Outputs collected during a run; the wrapper writes them even when the run throws. */
export class Outputs {
  readonly values = new Map<string, string>();
  set(name: string, value: string | number | boolean | undefined): void {
    if (value === undefined) return;
    this.values.set(name, String(value));
  }
}

/** State handed from an action's main step to its post step (core.saveState / core.getState). */
export interface StepState {
  save(name: string, value: string): void;
  get(name: string): string;
}

export interface ActionContext {
  inputs: Inputs;
  log: Log;
  outputs: Outputs;
  state: StepState;
}

/**
 * What a run ended with. `failure` set means the step fails with that message, after every
 * output has been written (a caller can still read `status` of a failed deploy).
 */
export interface RunResult {
  failure?: string | undefined;
}

export interface RunHooks {
  setOutput(name: string, value: string): void;
  setFailed(message: string): void;
  state?: StepState;
}

const actionsHooks: RunHooks = {
  setOutput: (n, v) => core.setOutput(n, v),
  setFailed: (m) => core.setFailed(m),
  state: { save: (n, v) => core.saveState(n, v), get: (n) => core.getState(n) },
};

/** A StepState held in memory (tests, the CLI). */
export function memoryState(): StepState & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return { values, save: (n, v) => void values.set(n, v), get: (n) => values.get(n) ?? '' };
}

/**
 * The single run wrapper every action entry uses: outputs first, failure last. A configuration
 * error reads as "fix this input" (its field spelled `Input "<input>"`); a command error carries the exit code and stderr tail; a
 * connection or socket failure says so; any other error is reported as internal with its stack
 * in the debug log.
 */
export async function runAction(
  main: (context: ActionContext) => Promise<RunResult | void>,
  options: { inputs?: Inputs; log?: Log; hooks?: RunHooks } = {},
): Promise<{ outputs: Map<string, string>; failure?: string }> {
  const log = options.log ?? actionsLog;
  const hooks = options.hooks ?? actionsHooks;
  const inputs = options.inputs ?? new Inputs(environmentInputs(), (v) => log.mask(v));
  const outputs = new Outputs();
  let failure: string | undefined;
  try {
    const result = await main({ inputs, log, outputs, state: hooks.state ?? memoryState() });
    failure = result ? result.failure : undefined;
  } catch (error) {
    failure = describeFailure(error, log);
  }
  for (const [name, value] of outputs.values) hooks.setOutput(name, value);
  if (failure !== undefined) hooks.setFailed(failure);
  return failure === undefined ? { outputs: outputs.values } : { outputs: outputs.values, failure };
}

/** How an action names a field: the input that carries it. */
export function actionField(field: string): string {
  return `Input "${field}"`;
}

export function describeFailure(error: unknown, log: Log): string {
  if (error instanceof ConfigurationError) return `Configuration error: ${error.spelled(actionField)}`;
  if (error instanceof CommandError || error instanceof ConnectionError) return error.message;
  // A dropped socket that reached this point is still the network's doing, not a defect to debug.
  if (isNetworkError(error)) return `Connection error: ${errorMessage(error)}`;
  if (error instanceof Error && error.stack) log.debug(error.stack);
  return `Internal error: ${errorMessage(error)}`;
}
