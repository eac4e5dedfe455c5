import { runAction } from '../../core/run.js';
import { openRunner } from '../../transport/connect.js';
import { releaseLock } from '../../state/lock.js';
import { LOCK_STATE } from './main.js';
import { readDeploySettings } from '../../rollout/settings.js';

/**
 * The post step (post-if: always()): releases the client's deploy lock when the main step did not
 * (cancelled, killed, crashed). When the main step finished, there is nothing to do and no
 * connection is opened.
 */
export function runPost(options?: Parameters<typeof runAction>[1]) {
  return runAction(async ({ inputs, log, state }) => {
    const saved = state.get(LOCK_STATE);
    if (!saved) return {};
    const lock = JSON.parse(saved) as { id: string; name: string };
    const settings = readDeploySettings(inputs);
    const runner = openRunner(settings.connection, log);
    try {
      log.info(`The deploy step did not finish: releasing ${lock.name}`);
      await releaseLock(runner, log, lock);
    } finally {
      await runner.close();
    }
    return {};
  }, options);
}
