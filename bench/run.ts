/**
 * `npm run bench`: measures swarm-deploy against its baselines on the lab and writes
 * docs/benchmarks.json, docs/benchmarks.md and its charts. Not part of `npm test`.
 *
 *   npm run bench -- --rounds 3 --only latency,fleet,startup --fleet 20 --concurrency 4
 *   npm run bench -- --before <git ref>   # also the step of that revision against this one
 *   npm run bench -- --report-only        # the pages again from docs/benchmarks.json, nothing measured
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { labUp, REPO_ROOT } from '../lab/lab.js';
import { beforeAfterBench } from './before-after.js';
import { fleetBench } from './fleet.js';
import { latencyBench } from './latency.js';
import { local } from './lab-access.js';
import { writeReport, type BenchResults } from './report.js';
import { startupBench } from './startup.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    only: { type: 'string', default: 'latency,fleet,startup' },
    fleet: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '4' },
    before: { type: 'string' },
    'report-only': { type: 'boolean', default: false },
  },
});
const rounds = Math.max(1, Number(values.rounds));
const only = new Set(values.only.split(','));
const say = (line: string) => console.log(line);

const previousFile = join(REPO_ROOT, 'docs', 'benchmarks.json');
if (values['report-only']) {
  const { figures: _figures, ...measured } = JSON.parse(readFileSync(previousFile, 'utf8')) as BenchResults & {
    figures?: unknown;
  };
  writeReport(measured, join(REPO_ROOT, 'docs'));
  say('Wrote the pages again from docs/benchmarks.json');
  process.exit(0);
}

await labUp(say);
const results: BenchResults = {
  startedAt: new Date().toISOString(),
  finishedAt: '',
  machine: {
    cpus: cpus().length,
    node: process.version,
    docker: (await local.run(['docker', 'version', '--format', '{{.Server.Version}}'])).stdout.trim(),
    load: [loadavg()[0] ?? 0],
  },
  rounds,
};

if (only.has('startup')) {
  say('Start-up cost of each bundle');
  results.startup = await startupBench(5, say);
}
if (only.has('latency')) {
  say(`Verdict latency, wall time and SSH connections (${rounds} rounds)`);
  results.latency = await latencyBench(rounds, say);
}
if (only.has('fleet')) {
  say(`Fleet of ${values.fleet} stacks`);
  results.fleet = await fleetBench(Number(values.fleet), Number(values.concurrency), rounds, say);
}
if (values.before) {
  say(`The step before (${values.before}) and after, as the runner runs it (${rounds} rounds)`);
  results.beforeAfter = await beforeAfterBench(values.before, rounds, say);
}
// A section not measured this time keeps its figures from the last run, and the page says so.
if (existsSync(previousFile)) {
  const previous = JSON.parse(readFileSync(previousFile, 'utf8')) as BenchResults;
  for (const section of ['fleet', 'startup'] as const) {
    if (results[section] !== undefined || previous[section] === undefined) continue;
    Object.assign(results, { [section]: previous[section] });
    results.carried = { ...results.carried, [section]: previous.carried?.[section] ?? previous.startedAt };
  }
}
results.finishedAt = new Date().toISOString();
results.machine.load?.push(loadavg()[0] ?? 0);
const f = writeReport(results, join(REPO_ROOT, 'docs'));
say(JSON.stringify(f, null, 2));
say('Wrote docs/benchmarks.json, docs/benchmarks.md, docs/benchmarks-ratios.svg, docs/benchmarks-timeline.svg');
process.exit(0);
