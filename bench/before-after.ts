/**
 * The step as the runner runs it, before and after a change, side by side in one run: the
 * committed action (action.yml and its bundles) of another git revision is taken out into a
 * temporary directory and run through the same runner harness, alternating with the current one,
 * on the same stack: a release that changes both services, then a redeploy of what runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildAppImage, REPO_ROOT, sweep } from '../lab/lab.js';
import { runActionStep } from '../lab/runner/action-host.js';
import { lab, local, settle, sshInputs, updateState, writeStackFile } from './lab-access.js';

export interface BeforeAfterSample {
  round: number;
  version: 'before' | 'after';
  /** Process start to exit, a release that changes both services (s). */
  wallS: number;
  /** Process exit after the last UpdateStatus.CompletedAt (s). */
  exitAfterCompletedS: number;
  /** Process start to exit, a redeploy of what runs (s). */
  noopS: number;
  noopReported: string;
}

export interface BeforeAfterResults {
  ref: string;
  commit: string;
  samples: BeforeAfterSample[];
}

const STACK = `services:
  web:
    image: \${IMAGE}
    deploy:
      replicas: 2
      update_config: { parallelism: 1, order: start-first, failure_action: rollback, monitor: 4s }
      rollback_config: { parallelism: 1, order: start-first, monitor: 4s }
  side:
    image: \${IMAGE}
    deploy:
      replicas: 1
      update_config: { parallelism: 1, order: start-first, failure_action: rollback, monitor: 4s }
      rollback_config: { parallelism: 1, order: start-first, monitor: 4s }
`;

/** action.yml and the main and post bundles of a revision, in a directory of their own. */
function actionAt(ref: string): { dir: string; commit: string } {
  const commit = execFileSync('git', ['rev-parse', ref], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'swarm-deploy-before-'));
  for (const file of [
    'action.yml',
    'dist/swarm-deploy/index.js',
    'dist/swarm-deploy/package.json',
    'dist/swarm-deploy-post/index.js',
    'dist/swarm-deploy-post/package.json',
  ]) {
    const content = execFileSync('git', ['show', `${commit}:${file}`], { cwd: REPO_ROOT, maxBuffer: 64 << 20 });
    mkdirSync(join(dir, dirname(file)), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
  return { dir, commit };
}

async function pinned(ref: string): Promise<string> {
  const out = await local.run(['docker', 'image', 'inspect', '--format', '{{index .RepoDigests 0}}', ref]);
  return `${ref}@${out.stdout.trim().split('@')[1] ?? ''}`;
}

export async function beforeAfterBench(
  ref: string,
  rounds: number,
  say: (line: string) => void,
): Promise<BeforeAfterResults> {
  const client = `lt-bench-ba-${Date.now().toString(36)}`;
  const run = Date.now().toString(36);
  const images = [
    await pinned(buildAppImage(lab, { version: `a-${run}`, repository: 'lt-bench/app' })),
    await pinned(buildAppImage(lab, { version: `b-${run}`, repository: 'lt-bench/app' })),
  ] as const;
  const file = writeStackFile(client, STACK);
  const before = actionAt(ref);
  const services = [`${client}_web`, `${client}_side`];
  const samples: BeforeAfterSample[] = [];
  let current = 0;
  const step = async (action: string, image: string) => {
    const startedAt = Date.now();
    const result = await runActionStep({
      action,
      with: { ...sshInputs(), client, 'stack-file': file, image, timeout: '3m', 'stuck-timeout': '30s' },
      secrets: [sshInputs()['ssh-key'] ?? ''],
      workspace: REPO_ROOT,
      timeoutMs: 600_000,
    });
    if (result.outputs.status !== 'deployed')
      throw new Error(`the ${action} step did not deploy: ${result.log.join('\n')}`);
    return { result, wallS: result.durationMs / 1000, exitedAt: startedAt + result.durationMs };
  };
  try {
    await step(REPO_ROOT, images[0]);
    for (let round = 1; round <= rounds; round++) {
      // Alternate which goes first, so neither always meets a freshly settled swarm.
      const order: ['before' | 'after', string][] = [
        ['before', before.dir],
        ['after', REPO_ROOT],
      ];
      if (round % 2 === 0) order.reverse();
      for (const [version, action] of order) {
        await settle(services);
        current = 1 - current;
        const deployed = await step(action, images[current as 0 | 1]);
        const states = await Promise.all(services.map(updateState));
        const completedAt = Math.max(...states.map((s) => s.completedAt ?? Number.NaN));
        await settle(services);
        const noop = await step(action, images[current as 0 | 1]);
        const sample: BeforeAfterSample = {
          round,
          version,
          wallS: deployed.wallS,
          exitAfterCompletedS: (deployed.exitedAt - completedAt) / 1000,
          noopS: noop.wallS,
          noopReported: noop.result.log.some((l) => l.startsWith('Unchanged:')) ? 'unchanged' : 'deployed again',
        };
        samples.push(sample);
        say(
          `  round ${round} ${version.padEnd(6)} wall ${sample.wallS.toFixed(1)}s exit after CompletedAt ${sample.exitAfterCompletedS.toFixed(2)}s no-op ${sample.noopS.toFixed(2)}s (${sample.noopReported})`,
        );
      }
    }
  } finally {
    rmSync(before.dir, { recursive: true, force: true });
    sweep(client);
  }
  return { ref, commit: before.commit, samples };
}
