/**
 * Figure 4: a fleet of tiny 1-replica client stacks updated one after another versus with bounded
 * concurrency. Each deploy is what one CLI invocation or one action step does: its own SSH
 * connection, the client's own lock, a watched rolling update.
 */
import { MemoryLog } from '../test/support/memory-log.js';
import { openRunner } from '../src/transport/connect.js';
import { runDeploy } from '../src/rollout/deploy.js';
import { lab, settingsFor, writeStackFile } from './lab-access.js';

const STACK = `services:
  app:
    image: \${IMAGE}
    command: ["sleep", "86400"]
    environment:
      RELEASE: \${RELEASE}
    deploy:
      replicas: 1
      update_config:
        order: start-first
        monitor: 1s
      rollback_config:
        order: start-first
        monitor: 1s
`;

export interface FleetRound {
  round: number;
  sequentialS: number;
  concurrentS: number;
  ratio: number;
  failures: string[];
}

export interface FleetResults {
  clients: number;
  concurrency: number;
  rounds: FleetRound[];
}

/** Run `tasks` with at most `limit` in flight (a bounded pool, as the CLI's fleet mode would). */
export async function pool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  });
  await Promise.all(workers);
}

export async function fleetBench(
  count: number,
  concurrency: number,
  rounds: number,
  say: (line: string) => void,
): Promise<FleetResults> {
  const stamp = Date.now().toString(36);
  const clients = Array.from({ length: count }, (_, i) => `lt-fleet-${stamp}-${i}`);
  const files = new Map(clients.map((c) => [c, writeStackFile(c, STACK)]));
  const failures: string[] = [];
  const deploy = async (client: string, release: string) => {
    const { request, connection } = settingsFor({
      client,
      'stack-file': files.get(client) as string,
      image: lab.baseImage,
      env: `RELEASE=${release}`,
      timeout: '2m',
      'stuck-timeout': '30s',
    });
    const log = new MemoryLog();
    const runner = openRunner(connection, log);
    try {
      const result = await runDeploy({ runner, log }, request);
      if (result.status !== 'deployed') failures.push(`${client}: ${result.status} ${result.reason ?? ''}`);
    } catch (error) {
      failures.push(`${client}: ${String(error)}`);
    } finally {
      await runner.close();
    }
  };
  const results: FleetRound[] = [];
  try {
    // Created once, concurrently, outside the measurement.
    await pool(clients, concurrency, (c) => deploy(c, 'r0'));
    if (failures.length) throw new Error(`fleet creation failed: ${failures.join('; ')}`);
    for (let round = 1; round <= rounds; round++) {
      failures.length = 0;
      let started = Date.now();
      for (const client of clients) await deploy(client, `s${round}`);
      const sequentialS = (Date.now() - started) / 1000;
      started = Date.now();
      await pool(clients, concurrency, (c) => deploy(c, `c${round}`));
      const concurrentS = (Date.now() - started) / 1000;
      results.push({ round, sequentialS, concurrentS, ratio: concurrentS / sequentialS, failures: [...failures] });
      say(
        `  fleet round ${round}: sequential ${sequentialS.toFixed(1)}s, ${concurrency} at a time ${concurrentS.toFixed(1)}s (ratio ${(concurrentS / sequentialS).toFixed(2)})${failures.length ? `, ${failures.length} failed` : ''}`,
      );
    }
  } finally {
    const { sweep } = await import('../lab/lab.js');
    sweep(`lt-fleet-${stamp}`);
  }
  return { clients: count, concurrency, rounds: results };
}
