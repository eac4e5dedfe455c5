/**
 * The swarm-deploy step as a GitHub runner runs it, timed: the runner harness runs the committed
 * bundle in a process of its own under Node 24, every action.yml default as INPUT_*, outputs
 * through $GITHUB_OUTPUT. What is timed is the whole process: node start, bundle load, SSH, lock,
 * deploy, verdict, release record, and exit.
 */
import { runActionStep, type ActionStepResult } from '../lab/runner/action-host.js';

export interface TimedStep {
  result: ActionStepResult;
  startedAt: number;
  /** When the step's process had exited and its files were read (what the runner waits for). */
  exitedAt: number;
  /** Each displayed line with the ms since the start when it arrived: where the step's time went. */
  lines: { atMs: number; text: string }[];
}

export async function timedStep(inputs: Record<string, string>): Promise<TimedStep> {
  const lines: TimedStep['lines'] = [];
  const startedAt = Date.now();
  const result = await runActionStep({
    action: '.',
    with: inputs,
    secrets: [inputs['ssh-key'] ?? ''],
    // A step that hangs is a result too, but the benchmark must end by itself.
    timeoutMs: 600_000,
    onLine: (text) => lines.push({ atMs: Date.now() - startedAt, text }),
  });
  return { result, startedAt, exitedAt: startedAt + result.durationMs, lines };
}
