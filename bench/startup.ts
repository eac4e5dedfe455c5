/**
 * Figure 5: start-up cost of each action bundle under Node 24 (process start to its first line on
 * stdout) and its size. Each bundle runs with no inputs, so it stops at its first required input (or, for the
 * post step, finds nothing to do); what is timed is loading the bundle and reaching the first log.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../lab/lab.js';
import { actionNode } from '../lab/runner/action-host.js';
import { median } from './lab-access.js';

export interface BundleCost {
  name: string;
  /** Bytes of dist/<name>/index.js. */
  indexBytes: number;
  /** Bytes of everything under dist/<name>/ (licence texts and native helpers included). */
  totalBytes: number;
  /** Median ms from spawn to the first stdout line (or to exit when it prints nothing). */
  firstLineMs: number;
  samplesMs: number[];
  firstLine: string;
}

function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? treeBytes(path) : statSync(path).size;
  }
  return total;
}

function timeToFirstLine(script: string): Promise<{ ms: number; line: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, RUNNER_TEMP: '/tmp' };
    // The runtime `runs.using: node24` gives the bundles.
    const child = spawn(actionNode(), [script], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let buffer = '';
    let done = false;
    const finish = (line: string) => {
      if (done) return;
      done = true;
      resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, line });
      child.kill('SIGKILL');
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline >= 0) finish(buffer.slice(0, newline));
    });
    child.on('error', reject);
    child.on('close', () => finish(buffer.trim() ? buffer.trim() : '(exited without output)'));
    setTimeout(() => finish('(no output within 20 s)'), 20_000).unref();
  });
}

export async function startupBench(runs: number, say: (line: string) => void): Promise<BundleCost[]> {
  const dist = join(REPO_ROOT, 'dist');
  const results: BundleCost[] = [];
  for (const name of readdirSync(dist).sort()) {
    const script = join(dist, name, 'index.js');
    if (!existsSync(script)) continue;
    const samples: number[] = [];
    let firstLine = '';
    for (let i = 0; i < runs; i++) {
      const sample = await timeToFirstLine(script);
      samples.push(sample.ms);
      firstLine = sample.line;
    }
    const cost: BundleCost = {
      name,
      indexBytes: statSync(script).size,
      totalBytes: treeBytes(join(dist, name)),
      firstLineMs: median(samples),
      samplesMs: samples.map((s) => Math.round(s)),
      firstLine: firstLine.slice(0, 120),
    };
    results.push(cost);
    say(
      `  ${name.padEnd(18)} ${(cost.indexBytes / 1024).toFixed(0).padStart(5)} KiB  first line ${cost.firstLineMs.toFixed(0)} ms`,
    );
  }
  return results;
}
