import { runAction } from '../../core/run.js';
import { openRunner } from '../../transport/connect.js';
import { releaseLock } from '../../state/lock.js';
import { LOCK_STATE } from './main.js';
import { readConnection } from '../../rollout/settings.js';

/**
 * The post step (post-if: always()): releases the client's deploy lock when the main step did not
 * (cancelled, killed, crashed). When the main step finished, there is nothing to do and no
 * connection is opened. What to release comes from the state the main step saved; only the
 * connection is read from the inputs again, because the SSH key is never written into the step
 * state (a file on the runner's disk).
 */
export function runPost(options?: Parameters<typeof runAction>[1], open = openRunner) {
  return runAction(async ({ inputs, log, state }) => {
    const saved = state.get(LOCK_STATE);
    if (!saved) return {};
    const lock = JSON.parse(saved) as { id: string; name: string };
    const runner = open(readConnection(inputs), log);
    try {
      log.info(`The deploy step did not finish: releasing ${lock.name}`);
      await releaseLock(runner, log, lock);
    } finally {
      await runner.close();
    }
    return {};
  }, options);
}
