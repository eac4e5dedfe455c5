/**
 * Turns the measurements into docs/benchmarks.json, two SVG charts and docs/benchmarks.md. Every
 * number in the page comes from the JSON of the same run; a missed target is said as missed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BeforeAfterResults } from './before-after.js';
import type { FleetResults } from './fleet.js';
import type { Case, LatencyResults, Sample, Tool } from './latency.js';
import { median } from './lab-access.js';
import type { BundleCost } from './startup.js';
import { ratioChart, timelineChart, type RatioBar } from './svg.js';

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  /** `load`: the 1-minute load average when the run started and when it ended. */
  machine: { cpus: number; node: string; docker: string; load?: number[] };
  rounds: number;
  latency?: LatencyResults | undefined;
  fleet?: FleetResults | undefined;
  startup?: BundleCost[] | undefined;
  beforeAfter?: BeforeAfterResults | undefined;
  /** Sections not measured in this run, taken from an earlier run: when that run started. */
  carried?: Partial<Record<'fleet' | 'startup', string>> | undefined;
}

const fmt = (v: number | undefined, digits = 2) => (v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));

/** The median of a part of the wall time, or n/a for samples of a run that did not measure it. */
function splitText(values: (number | undefined)[], digits = 2): string {
  const known = values.filter((v): v is number => v !== undefined && !Number.isNaN(v));
  return known.length === values.length && known.length > 0 ? fmt(median(known), digits) : 'n/a';
}

function pick(samples: Sample[], tool: Tool, kind: Case): Sample[] {
  return samples.filter((s) => s.tool === tool && s.case === kind);
}

/** Per round ratio ours ÷ baseline of a field, then the median over rounds. */
function pairedRatio(
  samples: Sample[],
  kind: Case,
  baseline: Tool,
  field: 'wallS',
  tool: Tool = 'swarm-deploy',
): number {
  const ratios: number[] = [];
  for (const ours of pick(samples, tool, kind)) {
    const other = samples.find((s) => s.tool === baseline && s.case === kind && s.round === ours.round);
    if (other) ratios.push(ours[field] / other[field]);
  }
  return median(ratios);
}

export interface Figures {
  latency: Record<Tool, Record<Case, number>>;
  watchLatency: Record<Case, number>;
  wallRatio: Record<Case, number>;
  /** The step as the runner runs it (bundle, own process, Node 24) ÷ the docker CLI. */
  stepWallRatio: Record<Case, number>;
  /** Medians of a redeploy of what already runs (s). */
  noop: { step: number; inProcess: number; cli: number };
  sshPerStep: { deployCore: number[]; main: number[]; postIdle: number[]; postRelease: number[]; stackWait: number };
  fleetRatio: number;
  mermaidMatches: boolean;
}

export function figures(results: BenchResults): Figures {
  const samples = results.latency?.samples ?? [];
  const tools: Tool[] = ['swarm-deploy', 'swarm-deploy-step', 'docker-cli', 'stack-wait'];
  const latency = Object.fromEntries(
    tools.map((t) => [
      t,
      {
        good: median(pick(samples, t, 'good').map((s) => s.latencyS)),
        rollback: median(pick(samples, t, 'rollback').map((s) => s.latencyS)),
      },
    ]),
  ) as Record<Tool, Record<Case, number>>;
  const watch = (kind: Case) =>
    median(
      pick(samples, 'swarm-deploy', kind)
        .map((s) => s.watchLatencyS)
        .filter((v): v is number => v !== undefined),
    );
  const steps = results.latency?.steps;
  const timeline = results.latency?.timeline;
  let mermaidMatches = false;
  if (timeline) {
    const mermaidLines = timeline.mermaid
      .split('\n')
      .filter((l) => /^\s+\+/.test(l))
      .map((l) => l.replace(/^\s+\+\S+ : /, ''));
    const expected = timeline.events.slice(0, 60).map((e) => e.text.replace(/[:#;]/g, ' ').replace(/\s+/g, ' ').trim());
    mermaidMatches = mermaidLines.length === expected.length && mermaidLines.every((l, i) => l === expected[i]);
  }
  return {
    latency,
    watchLatency: { good: watch('good'), rollback: watch('rollback') },
    wallRatio: {
      good: pairedRatio(samples, 'good', 'docker-cli', 'wallS'),
      rollback: pairedRatio(samples, 'rollback', 'docker-cli', 'wallS'),
    },
    stepWallRatio: {
      good: pairedRatio(samples, 'good', 'docker-cli', 'wallS', 'swarm-deploy-step'),
      rollback: pairedRatio(samples, 'rollback', 'docker-cli', 'wallS', 'swarm-deploy-step'),
    },
    noop: {
      step: median(results.latency?.noop?.step ?? []),
      inProcess: median(results.latency?.noop?.inProcess ?? []),
      cli: median(results.latency?.noop?.cli ?? []),
    },
    sshPerStep: {
      deployCore: pick(samples, 'swarm-deploy', 'good')
        .concat(pick(samples, 'swarm-deploy', 'rollback'))
        .map((s) => s.sshConnections),
      main: steps?.main ?? [],
      postIdle: steps?.postIdle ?? [],
      postRelease: steps?.postRelease ?? [],
      stackWait: median(samples.filter((s) => s.tool === 'stack-wait').map((s) => s.sshConnections)),
    },
    fleetRatio: median(results.fleet?.rounds.map((r) => r.ratio) ?? []),
    mermaidMatches,
  };
}

/**
 * Connections of the step's own process are attributed through its sockets; a run whose counter
 * saw none of them (an older counter that looked at this process only) says so instead of 0.
 */
function sshText(tool: Tool, list: Sample[]): string {
  if (tool === 'swarm-deploy-step' && list.every((s) => s.sshConnections === 0)) return 'not attributed (see 3.)';
  return fmt(median(list.map((s) => s.sshConnections)), 0);
}

function verdictWord(ok: boolean): string {
  return ok ? '**met**' : '**missed**';
}

export function writeReport(results: BenchResults, docsDir: string): Figures {
  const f = figures(results);
  writeFileSync(join(docsDir, 'benchmarks.json'), `${JSON.stringify({ ...results, figures: f }, null, 2)}\n`);
  const bars: RatioBar[] = [
    {
      label: 'Step (as the runner runs it) wall ÷ docker CLI',
      value: f.stepWallRatio.good,
      target: 1.0,
      targetText: '≤ 1.0',
    },
    {
      label: 'Step: exit after Swarm completed (s)',
      value: f.latency['swarm-deploy-step'].good,
      target: 0.5,
      targetText: '≤ 0.5 s',
    },
    { label: 'No-op step (s)', value: f.noop.step, target: 1, targetText: '≤ 1 s' },
    { label: 'Wall time ÷ docker CLI (good release)', value: f.wallRatio.good, target: 1.05, targetText: '≤ 1.05' },
    { label: 'Fleet: 4 at a time ÷ one by one', value: f.fleetRatio, target: 0.3, targetText: '≤ 0.3' },
    {
      label: 'Verdict latency, good release (s)',
      value: f.latency['swarm-deploy'].good,
      target: 0.5,
      targetText: '≤ 0.5 s',
    },
    {
      label: 'Verdict latency, rollback (s)',
      value: f.latency['swarm-deploy'].rollback,
      target: 0.5,
      targetText: '≤ 0.5 s',
    },
    {
      label: 'SSH connections per main step',
      value: median(f.sshPerStep.main),
      target: 1,
      targetText: '1',
    },
  ].filter((b) => !Number.isNaN(b.value));
  writeFileSync(join(docsDir, 'benchmarks-ratios.svg'), `${ratioChart(bars)}\n`);
  const timeline = results.latency?.timeline;
  if (timeline) writeFileSync(join(docsDir, 'benchmarks-timeline.svg'), `${timelineChart(timeline)}\n`);

  const md: string[] = [];
  const samples = results.latency?.samples ?? [];
  md.push(
    '# Benchmarks',
    '',
    `Measured with \`npm run bench\` on the lab (a single-node Swarm, Docker engine ${results.machine.docker}, sshd on loopback) on a ${results.machine.cpus}-core machine, Node.js ${results.machine.node}, ${results.startedAt} – ${results.finishedAt}. Every figure${results.carried && Object.keys(results.carried).length ? ' (but the sections marked as taken from an earlier run)' : ''} is measured side by side in the same run, on the same stack with the same update settings; each is the median of ${results.rounds} rounds, and the order of the tools rotates from round to round. The raw samples are in [benchmarks.json](benchmarks.json). The machine is shared and noisy: read differences of a few tenths of a second as noise${results.machine.load?.length ? ` (load average ${results.machine.load.map((l) => l.toFixed(1)).join(' at the start, ')} at the end, on ${results.machine.cpus} cores)` : ''}.`,
    '',
    '![Measured ratios and targets](benchmarks-ratios.svg)',
    '',
    '## Results against the targets',
    '',
    '| figure | measured (median) | target | |',
    '|---|---|---|---|',
  );
  const L = f.latency;
  if (samples.length) {
    const goodOk = L['swarm-deploy'].good <= 0.5;
    const rbOk = L['swarm-deploy'].rollback <= 0.5;
    const S = L['swarm-deploy-step'];
    if (!Number.isNaN(S.good)) {
      md.push(
        `| A. the step as the runner runs it: process exit after Swarm's \`CompletedAt\` (good / rollback) | ${fmt(S.good)} s / ${fmt(S.rollback)} s | ≤ 0.5 s | ${verdictWord(S.good <= 0.5)} |`,
        `| A. the step as the runner runs it: wall ÷ \`docker stack deploy --detach=false\` (good / rollback) | ${fmt(f.stepWallRatio.good)} / ${fmt(f.stepWallRatio.rollback)} | ≤ 1.0 | ${verdictWord(f.stepWallRatio.good <= 1.0)} |`,
      );
    }
    if (!Number.isNaN(f.noop.step)) {
      md.push(
        `| B. a redeploy of what already runs, the step as the runner runs it (core in-process / docker CLI) | ${fmt(f.noop.step)} s (${fmt(f.noop.inProcess)} s / ${fmt(f.noop.cli)} s) | ≤ 1 s | ${verdictWord(f.noop.step <= 1)} |`,
      );
    }
    md.push(
      `| 1. verdict latency, good release | ${fmt(L['swarm-deploy'].good)} s (watch verdict ${fmt(f.watchLatency.good)} s) | ≤ 0.5 s | ${verdictWord(goodOk)} |`,
      `| 1. verdict latency, automatic rollback | ${fmt(L['swarm-deploy'].rollback)} s | ≤ 0.5 s | ${verdictWord(rbOk)} |`,
      `| 1. … vs docker CLI (good / rollback) | ${fmt(L['docker-cli'].good)} s / ${fmt(L['docker-cli'].rollback)} s | never behind | ${verdictWord(L['swarm-deploy'].good <= L['docker-cli'].good && L['swarm-deploy'].rollback <= L['docker-cli'].rollback)} |`,
      `| 1. … vs stack-wait poller (good / rollback) | ${fmt(L['stack-wait'].good)} s / ${fmt(L['stack-wait'].rollback)} s | never behind | ${verdictWord(L['swarm-deploy'].good <= L['stack-wait'].good && L['swarm-deploy'].rollback <= L['stack-wait'].rollback)} |`,
      `| 2. wall time ÷ \`docker stack deploy --detach=false\` (good release) | ${fmt(f.wallRatio.good)} (rollback: ${fmt(f.wallRatio.rollback)}) | ≤ 1.05 | ${verdictWord(f.wallRatio.good <= 1.05)} |`,
      `| 3. SSH connections per step (main step / post step) | ${f.sshPerStep.main.join(', ')} / ${f.sshPerStep.postIdle.join(', ')} idle, ${f.sshPerStep.postRelease.join(', ')} releasing | 1 (+1 post) | ${verdictWord(f.sshPerStep.main.every((n) => n === 1) && f.sshPerStep.postRelease.every((n) => n <= 1))} |`,
    );
  }
  if (results.fleet) {
    const r = results.fleet;
    md.push(
      `| 4. fleet of ${r.clients}: ${r.concurrency} at a time ÷ one after another${results.carried?.fleet ? ` (run of ${results.carried.fleet})` : ''} | ${fmt(f.fleetRatio)} | ≤ 0.3 | ${verdictWord(f.fleetRatio <= 0.3)} |`,
    );
  }
  md.push('');

  if (samples.length) {
    md.push(
      '## 1–3. One stack, three ways to deploy it',
      '',
      'The stack has two services (`web`, 2 replicas, and `side`, 1 replica) with explicit, identical update settings (`parallelism: 1`, `order: start-first`, `failure_action: rollback`, `monitor: 4s`; the same for `rollback_config`). A good release changes both images; the rollback case changes `web` to an image that exits with code 3, which Swarm rolls back by itself. The baselines deploy the exact YAML swarm-deploy renders for that release.',
      '',
      '- **swarm-deploy-step**: the step as a GitHub runner runs it: the committed bundle `dist/swarm-deploy/index.js` in a process of its own under Node 24 (the runtime of `runs.using: node24`), every `action.yml` input default passed as `INPUT_*`, outputs through `$GITHUB_OUTPUT`. Its time runs from process start to process exit: node start-up, bundle load, SSH handshake, lock, deploy, watch, verdict, release record, lock release and exit.',
      "- **swarm-deploy**: the deploy core (`runDeploy`) over one `SshRunner` in the benchmark's own process, exactly what the action's main step runs; it returns after recording the release and releasing the lock.",
      '- **docker CLI**: `docker stack deploy --detach=false` run on the manager through the OpenSSH client (one connection).',
      '- **stack-wait**: `docker stack deploy --detach=true`, then [our poller](../bench/baselines/stack-wait.ts) that behaves like docker-stack-wait: a poll every 5 s, one `docker service inspect --format` per service per field, each over its own new SSH connection.',
      '',
      'Latency is the time from the last `UpdateStatus.CompletedAt` Swarm recorded for the changed services (the final `completed` or `rollback_completed`) to the moment the tool returned. "Watch verdict" is the moment swarm-deploy\'s watch knew (`verdictAt`), before it records the release. A negative latency means the tool returned before Swarm finished.',
      '',
      "A wall time splits in three: the time *before Swarm* began the update (the first `UpdateStatus.StartedAt` of the changed services, counted from the tool's start: process and connection start-up, reads, lock, the stack deploy), the update itself as *Swarm* ran it (from that `StartedAt` to the final `CompletedAt`: the same work for every tool, and the noisiest part on a shared machine), and the latency after it.",
      '',
      '| tool | case | latency (s) | wall (s) | before Swarm (s) | Swarm (s) | SSH connections | what it reported |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const tool of ['swarm-deploy-step', 'swarm-deploy', 'docker-cli', 'stack-wait'] as Tool[]) {
      for (const kind of ['good', 'rollback'] as Case[]) {
        const list = pick(samples, tool, kind);
        if (!list.length) continue;
        const reported = [...new Set(list.map((s) => s.reported.replace(/\(.*$/, '').trim()))].join(', ');
        md.push(
          `| ${tool} | ${kind} | ${fmt(median(list.map((s) => s.latencyS)))} (${list.map((s) => fmt(s.latencyS)).join(', ')}) | ${fmt(median(list.map((s) => s.wallS)), 1)} | ${splitText(list.map((s) => s.startS))} | ${splitText(
            list.map((s) => s.swarmS),
            1,
          )} | ${sshText(tool, list)} | ${reported} |`,
        );
      }
    }
    const cliRollback = pick(samples, 'docker-cli', 'rollback');
    md.push(
      '',
      `\`docker stack deploy --detach=false\` exited ${[...new Set(cliRollback.map((s) => s.reported))].join(' / ')} after every automatic rollback: it reports a rolled-back release as a success. The stack-wait poller reports the failure, but as soon as the rollback *starts*, before the previous version is back (hence its negative latency in the rollback case); it never says whether the rollback worked. swarm-deploy waits for \`rollback_completed\` and fails the step with the reason.`,
      '',
    );
  }

  const noop = results.latency?.noop;
  if (noop?.step.length) {
    md.push(
      '## B. Redeploying what already runs',
      '',
      "After the rounds above, the stack is deployed again with the image that already runs (a workflow re-run, or a commit that changes no image), pinned by digest as ecr-push hands it over. The step answers it from one read of the services and the lock, before taking anything (see [deploy.md](deploy.md#redeploying-what-already-runs)): no lock, no release recorded, the outputs set. The docker CLI deploys the same rendered stack with `--detach=false` (its per-run labels are new, so it updates the services' labels).",
      '',
      '| round | step as the runner runs it (s) | core in-process (s) | docker CLI (s) | the step reported |',
      '|---|---|---|---|---|',
      ...noop.step.map(
        (v, i) =>
          `| ${i + 1} | ${fmt(v)} | ${fmt(noop.inProcess[i])} | ${fmt(noop.cli[i])} | ${noop.reported[i] ?? ''} |`,
      ),
      '',
    );
  }

  const ba = results.beforeAfter;
  if (ba?.samples.length) {
    const of = (version: 'before' | 'after', field: 'wallS' | 'exitAfterCompletedS' | 'noopS') =>
      median(ba.samples.filter((s) => s.version === version).map((s) => s[field]));
    md.push(
      '## A/B. The step before and after, as the runner runs it',
      '',
      `The committed action of \`${ba.ref}\`${ba.commit.startsWith(ba.ref) ? '' : ` (${ba.commit.slice(0, 7)})`} and the current one, each through the same runner harness (bundle under Node 24, defaults as \`INPUT_*\`), alternating round by round on one two-service stack pinned by digest: a release that changes both services, then a redeploy of what runs. Medians of ${new Set(ba.samples.map((s) => s.round)).size} rounds; every sample in [benchmarks.json](benchmarks.json).`,
      '',
      '| | before | after |',
      '|---|---|---|',
      `| wall time of a release (s) | ${fmt(of('before', 'wallS'), 1)} | ${fmt(of('after', 'wallS'), 1)} |`,
      `| process exit after Swarm's \`CompletedAt\` (s) | ${fmt(of('before', 'exitAfterCompletedS'))} | ${fmt(of('after', 'exitAfterCompletedS'))} |`,
      `| a redeploy of what runs (s) | ${fmt(of('before', 'noopS'))} | ${fmt(of('after', 'noopS'))} |`,
      `| … what it did | ${[...new Set(ba.samples.filter((s) => s.version === 'before').map((s) => s.noopReported))].join(', ')} | ${[...new Set(ba.samples.filter((s) => s.version === 'after').map((s) => s.noopReported))].join(', ')} |`,
      '',
    );
  }

  if (results.fleet) {
    const r = results.fleet;
    md.push(
      `## 4. Fleet: ${r.clients} client stacks`,
      '',
      ...(results.carried?.fleet
        ? [`*Not measured in this run: figures of the run of ${results.carried.fleet}.*`, '']
        : []),
      `${r.clients} tiny client stacks (one service, 1 replica, \`monitor: 1s\`), each updated by its own deploy (own SSH connection, own lock, watched), first one after another, then ${r.concurrency} at a time with a bounded pool. The stacks are created once beforehand and removed afterwards.`,
      '',
      '| round | one after another (s) | 4 at a time (s) | ratio |',
      '|---|---|---|---|',
      ...r.rounds.map((x) => `| ${x.round} | ${fmt(x.sequentialS, 1)} | ${fmt(x.concurrentS, 1)} | ${fmt(x.ratio)} |`),
      '',
    );
  }

  if (results.startup?.length) {
    md.push(
      '## 5. Start-up cost and size of each bundle',
      '',
      ...(results.carried?.startup
        ? [`*Not measured in this run: figures of the run of ${results.carried.startup}.*`, '']
        : []),
      'Time from process start to the first line on stdout, `node dist/<name>/index.js` under Node 24 with no inputs (it stops at its first required input, or, for the post step, finds nothing to do). Median of the runs listed.',
      '',
      '| bundle | index.js | whole folder | first line (ms) | runs (ms) | first line |',
      '|---|---|---|---|---|---|',
      ...results.startup.map(
        (b) =>
          `| ${b.name} | ${(b.indexBytes / 1024).toFixed(0)} KiB | ${(b.totalBytes / 1024).toFixed(0)} KiB | ${b.firstLineMs.toFixed(0)} | ${b.samplesMs.join(', ')} | \`${b.firstLine.replace(/\|/g, '\\|').replace(/`/g, "'")}\` |`,
      ),
      '',
      "Peers' committed bundles are not available on this machine (no network access to fetch them), so no comparison with them is made here; the sizes above are ours alone.",
      '',
    );
  }

  if (timeline) {
    md.push(
      '## 6. One rollout with an automatic rollback',
      '',
      'Each replica slot of `web` over time during one swarm-deploy run of the crashing release (round 1): bars are tasks, coloured by the version they ran; numbered lines are the rollout events the watch recorded — the same list the job summary prints and draws as a Mermaid timeline.',
      '',
      '![Replica versions over time during a rollout that Swarm rolled back](benchmarks-timeline.svg)',
      '',
      `The job summary's Mermaid timeline for the same run (the events match the SVG's numbered list: ${f.mermaidMatches ? 'checked, identical' : '**they differ**'}):`,
      '',
      '```mermaid',
      timeline.mermaid.trimEnd(),
      '```',
      '',
    );
  }
  writeFileSync(join(docsDir, 'benchmarks.md'), `${md.join('\n')}\n`);
  return f;
}
