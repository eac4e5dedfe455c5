/**
 * The swarm-deploy step's body: one function that the action runs on a runner (docker over SSH or
 * on this machine) and the gate runs on a manager (docker on the manager itself). The entries read
 * the settings and open the runner; this body takes or releases the lock, or deploys, and reports
 * through the log and the outputs.
 */
import { formatDuration } from '../core/duration.js';
import type { CommandRunner } from '../core/exec.js';
import type { Log } from '../core/log.js';
import type { Clock } from '../core/retry.js';
import type { Outputs, RunResult } from '../core/run.js';
import { PolicyError, StackError } from '../compose/stack.js';
import { describeResult, runDeploy } from '../rollout/deploy.js';
import { formatDiff } from '../rollout/plan.js';
import type { DeployJob } from '../rollout/settings.js';
import { describeHolder, holdMaintenance, releaseMaintenance } from '../state/lock.js';
import { deploySummary } from '../views/report.js';

export interface DeployStepContext {
  runner: CommandRunner;
  log: Log;
  outputs: Outputs;
  clock: Clock;
  /** The deploy took the client's lock: what the post step needs to release it, should this step die. */
  onLock(lock: { id: string; name: string }): void;
  /** The deploy ended and released the lock itself: the post step has nothing left to do. */
  onLockReleased(): void;
}

export async function deployStep(job: DeployJob, context: DeployStepContext): Promise<RunResult> {
  const { runner, log, outputs } = context;
  const { request } = job;
  if (job.lock === 'hold') {
    const lock = await holdMaintenance({
      runner,
      log,
      client: request.tenant.name,
      runUrl: request.runUrl,
      actor: request.actor,
      waitMs: request.lockWaitMs,
      message: job.lockMessage,
    });
    log.info(`Deploys of ${request.tenant.name} are now held: ${describeHolder(lock.holder, lock.holder.since)}`);
    outputs.set('status', 'held');
    return {};
  }
  if (job.lock === 'release') {
    await releaseMaintenance(runner, log, request.tenant.name);
    outputs.set('status', 'released');
    return {};
  }

  const result = await runDeploy({ runner, log, clock: context.clock, onLock: context.onLock }, request).catch(
    (error: unknown) => {
      if (error instanceof PolicyError || error instanceof StackError) annotateProblems(log, error);
      throw error;
    },
  );
  // The lock is released by runDeploy itself; the post step only acts when this step never got here.
  context.onLockReleased();
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
