import { defineAction, type StepContext } from '../../core/action.js';
import type { RunResult } from '../../core/run.js';
import { openRunner } from '../../transport/connect.js';
import { readDeploySettings, workspaceFiles } from '../../rollout/settings.js';
import { deployStep } from '../../steps/deploy.js';
import { callGate, gateDeployRequest } from '../../steps/gate-client.js';
import {
  CONNECTION_STATE,
  LOCK_STATE,
  postState,
  releaseLeftLock,
  savedConnection,
  type SwarmDeploySeams,
} from './post-main.js';

async function deployMain(context: StepContext<SwarmDeploySeams>): Promise<RunResult> {
  const { inputs, log, outputs, state, deps } = context;
  // Until a verdict is known the step counts as failed, so a step that throws still reports a status.
  outputs.set('status', 'failed');
  const via = inputs.choice('via', ['docker', 'gate'] as const, 'docker');
  if (via === 'gate') return deployThroughGate(context);
  const settings = readDeploySettings(inputs, deps.env);
  const runner = deps.connect(settings.connection, log);
  try {
    return await deployStep(settings, {
      runner,
      log,
      outputs,
      clock: deps.clock,
      onLock: (lock) => {
        for (const [name, value] of Object.entries(postState(settings.connection, lock))) state.save(name, value);
      },
      onLockReleased: () => state.save(LOCK_STATE, ''),
    });
  } finally {
    await runner.close();
  }
}

/**
 * `via: gate`: the inputs are read and checked here as for a direct deploy, then the request goes
 * to the gate on a manager in one SSH exec, and its answer is rendered as this step's own report.
 */
async function deployThroughGate({ inputs, log, outputs, state, deps }: StepContext<SwarmDeploySeams>) {
  const recorded = new Map<string, Uint8Array>();
  const workspace = deps.env.GITHUB_WORKSPACE ?? process.cwd();
  const settings = readDeploySettings(inputs, deps.env, workspaceFiles(workspace, recorded));
  const request = gateDeployRequest(inputs, settings, recorded, deps.env);
  // The gate saves the lock it takes (state "lock"); the post step reaches the gate the same way.
  state.save(CONNECTION_STATE, savedConnection(settings.connection, 'gate'));
  const runner = deps.connect(settings.connection, log);
  try {
    return await callGate(runner, request, { log, outputs, state });
  } finally {
    await runner.close();
  }
}

/** The main step deploys; the post step releases the lock when the main step could not. */
export const action = defineAction<SwarmDeploySeams>({
  seams: () => ({ connect: openRunner }),
  main: deployMain,
  post: releaseLeftLock,
});
