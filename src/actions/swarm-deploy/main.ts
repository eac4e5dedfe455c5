import { defineAction, type StepContext } from '../../core/action.js';
import type { RunResult } from '../../core/run.js';
import { formatDuration } from '../../core/duration.js';
import type { Log } from '../../core/log.js';
import { openRunner } from '../../transport/connect.js';
import { describeResult, runDeploy } from '../../rollout/deploy.js';
import { describeHolder, holdMaintenance, releaseMaintenance } from '../../state/lock.js';
import { formatDiff } from '../../rollout/plan.js';
import { deploySummary } from '../../views/report.js';
import { PolicyError, StackError } from '../../compose/stack.js';
import { readDeploySettings } from '../../rollout/settings.js';
import { LOCK_STATE, postState, releaseLeftLock, type SwarmDeploySeams } from './post-main.js';

async function deployMain({ inputs, log, outputs, state, deps }: StepContext<SwarmDeploySeams>): Promise<RunResult> {
  // Until a verdict is known the step counts as failed, so a step that throws still reports a status.
  outputs.set('status', 'failed');
  const settings = readDeploySettings(inputs, deps.env);
  const { request } = settings;
  const runner = deps.connect(settings.connection, log);
  try {
    if (settings.lock === 'hold') {
      const lock = await holdMaintenance({
        runner,
        log,
        client: request.tenant.name,
        runUrl: request.runUrl,
        actor: request.actor,
        waitMs: request.lockWaitMs,
        message: settings.lockMessage,
      });
      log.info(`Deploys of ${request.tenant.name} are now held: ${describeHolder(lock.holder, lock.holder.since)}`);
      outputs.set('status', 'held');
      return {};
    }
    if (settings.lock === 'release') {
      await releaseMaintenance(runner, log, request.tenant.name);
      outputs.set('status', 'released');
      return {};
    }

    const onLock = (lock: { id: string; name: string }) => {
      for (const [name, value] of Object.entries(postState(settings.connection, lock))) state.save(name, value);
    };
    const result = await runDeploy({ runner, log, clock: deps.clock, onLock }, request).catch((error: unknown) => {
      if (error instanceof PolicyError || error instanceof StackError) annotateProblems(log, error);
      throw error;
    });
    // The lock is released by runDeploy itself; the post step only acts when this step never got here.
    state.save(LOCK_STATE, '');
    outputs.set('status', result.status);
    outputs.set('image', result.image);
    outputs.set('previous-image', result.previousImage);
    outputs.set('release', result.release);
    outputs.set('running-sha', result.runningSha);
    outputs.set('previous-sha', result.previousSha);
    outputs.set('duration', formatDuration(result.durationMs));
    outputs.set(
      'services',
      JSON.stringify(
        result.services.map((s) => ({
          name: s.name,
          image: s.image,
          running: s.running,
          desired: s.desired,
          updateState: s.updateState,
        })),
      ),
    );
    if (result.status === 'planned') {
      log.info(`Rendered stack:\n${result.rendered ?? ''}`);
      log.info(`Changes against what runs now:\n${result.diff ? formatDiff(result.diff) : ''}`);
    }
    await log.summary(deploySummary(request.tenant.name, result));
    const message = describeResult(result);
    if (result.status === 'deployed' || result.status === 'planned') {
      log.info(message);
      return {};
    }
    return { failure: message };
  } finally {
    await runner.close();
  }
}

/**
 * Each problem of the stack file and each refused rule becomes an annotation on its line, so the
 * pull request or run page points at it; the step then fails with the full list (the error's message).
 */
function annotateProblems(log: Log, error: PolicyError | StackError): void {
  for (const problem of error instanceof StackError ? error.problems : []) {
    log.error(problem.reason, {
      file: problem.where.file,
      title: 'Stack file',
      ...(problem.where.line === undefined ? {} : { startLine: problem.where.line }),
    });
  }
  for (const violation of error.violations) {
    log.error(`[${violation.rule}] ${violation.message}`, {
      file: violation.file,
      title: `Cluster policy: ${violation.rule}`,
      ...(violation.line === undefined ? {} : { startLine: violation.line }),
    });
  }
}

/** The main step deploys; the post step releases the lock when the main step could not. */
export const action = defineAction<SwarmDeploySeams>({
  seams: () => ({ connect: openRunner }),
  main: deployMain,
  post: releaseLeftLock,
});
