/**
 * Figures 1–3 and 6, side by side on one stack with the same update settings: a good release and
 * a crashing release (Swarm rolls it back automatically), each deployed in turn by the
 * swarm-deploy core over SSH, by `docker stack deploy --detach=false` over SSH, and by
 * `docker stack deploy --detach=true` followed by a docker-stack-wait-like poller.
 */
import { buildAppImage } from '../lab/lab.js';
import { action as swarmDeploy } from '../src/actions/swarm-deploy/main.js';
import { postState } from '../src/actions/swarm-deploy/post-main.js';
import { readConnection } from '../src/rollout/settings.js';
import { Inputs, mapInputs } from '../src/core/inputs.js';
import { MemoryLog } from '../test/support/memory-log.js';
import { memoryState } from '../src/core/run.js';
import { runDeploy, prepareStack, type DeployResult } from '../src/rollout/deploy.js';
import { newReleaseId } from '../src/state/history.js';
import { deploySummary } from '../src/views/report.js';
import { openRunner } from '../src/transport/connect.js';
import { SshRunner } from '../src/transport/ssh.js';
import { dockerStackDeploy } from './baselines/docker-stack-deploy.js';
import { stackWait } from './baselines/stack-wait.js';
import { lab, local, settingsFor as settings, settle, sshInputs, updateState, writeStackFile } from './lab-access.js';
import { timedStep } from './runner-step.js';
import { SshdLogCounter } from './ssh-count.js';

/** `swarm-deploy` is the deploy core in this process; `swarm-deploy-step` is the bundle as the runner runs it. */
export type Tool = 'swarm-deploy' | 'swarm-deploy-step' | 'docker-cli' | 'stack-wait';
export type Case = 'good' | 'rollback';

export interface Sample {
  round: number;
  tool: Tool;
  case: Case;
  /** What the tool reported: deployed, rolled-back, exit 0, … */
  reported: string;
  /** Seconds from the final UpdateStatus.CompletedAt to the tool's return. */
  latencyS: number;
  /** swarm-deploy only: seconds from CompletedAt to the watch's verdict (before the release is recorded). */
  watchLatencyS?: number | undefined;
  wallS: number;
  sshConnections: number;
  /** Every sshd connection accepted during the run, whoever opened it (noise from other lab users included). */
  sshAllConnections: number;
  finalState: string;
  /** Seconds from the tool's start to the first UpdateStatus.StartedAt of the changed services: the time before Swarm began. */
  startS?: number | undefined;
  /** Seconds Swarm took, from that StartedAt to the final CompletedAt: the update itself. */
  swarmS?: number | undefined;
}

export interface TaskSpan {
  slot: number;
  service: string;
  version: string;
  createdAt: number;
  endedAt: number;
  state: string;
  error: string;
}

export interface TimelineCapture {
  sentAt: number;
  returnedAt: number;
  events: { at: number; text: string }[];
  tasks: TaskSpan[];
  mermaid: string;
  summary: string;
}

export interface StepConnections {
  /** The swarm-deploy action's main step, a good release of the 2-service stack. */
  main: number[];
  /** Its post step after a main step that finished (nothing to release). */
  postIdle: number[];
  /** Its post step after a main step that died holding the lock (releases it). */
  postRelease: number[];
}

/** A redeploy of what already runs, timed three ways (seconds, one entry per round). */
export interface NoopTimes {
  /** The action's bundle as the runner runs it (process start to exit). */
  step: number[];
  /** The deploy core in this process (runDeploy over one SSH connection, connection included). */
  inProcess: number[];
  /** `docker stack deploy --detach=false` of the same, unchanged stack over SSH. */
  cli: number[];
  /** What the step reported (status and reason). */
  reported: string[];
}

export interface LatencyResults {
  samples: Sample[];
  noop?: NoopTimes | undefined;
  timeline?: TimelineCapture | undefined;
  steps: StepConnections;
}

const STACK = `services:
  web:
    image: \${IMAGE}
    deploy:
      replicas: 2
      update_config:
        parallelism: 1
        order: start-first
        failure_action: rollback
        monitor: 4s
      rollback_config:
        parallelism: 1
        order: start-first
        monitor: 4s
  side:
    image: \${SIDE_IMAGE}
    deploy:
      replicas: 1
      update_config:
        parallelism: 1
        order: start-first
        failure_action: rollback
        monitor: 4s
      rollback_config:
        parallelism: 1
        order: start-first
        monitor: 4s
`;

function inputsFor(client: string, file: string, image: string, side: string): Record<string, string> {
  return { client, 'stack-file': file, image, env: `SIDE_IMAGE=${side}`, timeout: '3m', 'stuck-timeout': '30s' };
}

async function taskSpans(services: string[], versionOf: (image: string) => string): Promise<TaskSpan[]> {
  const ids = (await local.run(['docker', 'service', 'ps', '--no-trunc', '--quiet', ...services])).stdout
    .split('\n')
    .filter(Boolean);
  const tasks = JSON.parse((await local.run(['docker', 'inspect', '--type', 'task', ...ids])).stdout) as {
    ServiceID: string;
    Slot?: number;
    CreatedAt: string;
    Status: { Timestamp: string; State: string; Err?: string };
    Spec: { ContainerSpec?: { Image?: string } };
  }[];
  const serviceIds = new Map<string, string>();
  for (const service of services)
    serviceIds.set(
      (await local.run(['docker', 'service', 'inspect', '--format', '{{.ID}}', service])).stdout.trim(),
      service,
    );
  const live = new Set(['running', 'starting', 'preparing', 'assigned', 'pending', 'new', 'accepted', 'ready']);
  return tasks.map((t) => ({
    slot: t.Slot ?? 0,
    service: serviceIds.get(t.ServiceID) ?? t.ServiceID,
    version: versionOf(t.Spec.ContainerSpec?.Image ?? ''),
    createdAt: Date.parse(t.CreatedAt),
    endedAt: live.has(t.Status.State) ? Number.NaN : Date.parse(t.Status.Timestamp),
    state: t.Status.State,
    error: t.Status.Err ?? '',
  }));
}

/** `<repository>:<tag>@sha256:<digest>` of a pushed image. */
async function pinned(ref: string): Promise<string> {
  const out = await local.run(['docker', 'image', 'inspect', '--format', '{{index .RepoDigests 0}}', ref]);
  return `${ref}@${out.stdout.trim().split('@')[1] ?? ''}`;
}

export async function latencyBench(rounds: number, say: (line: string) => void): Promise<LatencyResults> {
  const client = `lt-bench-${Date.now().toString(36)}`;
  const run = Date.now().toString(36);
  // Pinned by digest, as ecr-push hands images to the deploy in the workflows.
  const images = [
    await pinned(buildAppImage(lab, { version: `a-${run}`, repository: 'lt-bench/app' })),
    await pinned(buildAppImage(lab, { version: `b-${run}`, repository: 'lt-bench/app' })),
  ] as const;
  const crash = await pinned(
    buildAppImage(lab, { version: `crash-${run}`, mode: 'crash', repository: 'lt-bench/app' }),
  );
  const versionOf = (image: string) => /:([^@]+)/.exec(image.split('/').pop() ?? '')?.[1] ?? image;
  const file = writeStackFile(client, STACK);
  const web = `${client}_web`;
  const side = `${client}_side`;
  const samples: Sample[] = [];
  let timeline: TimelineCapture | undefined;
  let current = 0; // index of the image now running
  const counter = new SshdLogCounter(lab.ssh.logPath, lab.ssh.port);
  const steps: StepConnections = { main: [], postIdle: [], postRelease: [] };
  const noop: NoopTimes = { step: [], inProcess: [], cli: [], reported: [] };

  // The stack is created once, outside the measurement.
  const first = settings(inputsFor(client, file, images[0], images[0]));
  const firstRunner = openRunner(first.connection, new MemoryLog());
  const created = await runDeploy({ runner: firstRunner, log: new MemoryLog() }, first.request);
  await firstRunner.close();
  if (created.status !== 'deployed') throw new Error(`bench stack did not deploy: ${created.reason}`);

  const finalCompletedAt = async (changed: string[]) => {
    const states = await Promise.all(changed.map(updateState));
    const at = Math.max(...states.map((s) => s.completedAt ?? Number.NaN));
    const began = Math.min(...states.map((s) => s.startedAt ?? Number.NaN));
    return {
      at,
      state: states.map((s) => s.state).join('/'),
      /** The split of a tool's wall time: before Swarm began, and the update itself. */
      split: (toolStartedAt: number) => ({
        startS: (began - toolStartedAt) / 1000,
        swarmS: (at - began) / 1000,
      }),
    };
  };

  const ours = async (round: number, kind: Case): Promise<Sample> => {
    const next = kind === 'good' ? 1 - current : current;
    const image = kind === 'good' ? images[next as 0 | 1] : crash;
    const s = settings(inputsFor(client, file, image, images[next as 0 | 1]));
    const log = new MemoryLog();
    counter.start();
    const startedAt = Date.now();
    const runner = openRunner(s.connection, log);
    let result: DeployResult;
    try {
      result = await runDeploy({ runner, log }, s.request);
    } finally {
      await runner.close();
    }
    const returnedAt = Date.now();
    const ssh = await counter.stop();
    const own = runner instanceof SshRunner ? runner.connections : 0;
    if (own !== ssh.ours) say(`  note: the runner counted ${own} connections, sshd's log ${ssh.ours}`);
    current = next;
    const final = await finalCompletedAt(kind === 'good' ? [web, side] : [web]);
    if (kind === 'rollback' && timeline === undefined) {
      timeline = {
        sentAt: result.sentAt ?? startedAt,
        returnedAt,
        events: result.timeline,
        tasks: await taskSpans([web], versionOf),
        mermaid: /```mermaid\n([\s\S]*?)```/.exec(deploySummary(client, result))?.[1] ?? '',
        summary: deploySummary(client, result),
      };
    }
    return {
      round,
      tool: 'swarm-deploy',
      case: kind,
      reported: `${result.status}${result.reason ? ` (${result.reason.slice(0, 120)})` : ''}`,
      latencyS: (returnedAt - final.at) / 1000,
      watchLatencyS: result.verdictAt !== undefined ? (result.verdictAt - final.at) / 1000 : undefined,
      wallS: (returnedAt - startedAt) / 1000,
      sshConnections: ssh.ours,
      sshAllConnections: ssh.all,
      finalState: final.state,
      ...final.split(startedAt),
    };
  };

  /** The same rendered stack the action would send, for the baselines. */
  const rendered = (kind: Case | 'noop') => {
    const next = kind === 'good' ? 1 - current : current;
    const image = kind === 'rollback' ? crash : images[next as 0 | 1];
    const { request } = settings(inputsFor(client, file, image, images[next as 0 | 1]));
    if (request.kind !== 'deploy') throw new Error('expected a deploy request');
    const id = newReleaseId(new Date());
    return { next, yaml: prepareStack(request, { id, time: new Date().toISOString() }).rendered.yaml };
  };

  const cli = async (round: number, kind: Case): Promise<Sample> => {
    const { next, yaml } = rendered(kind);
    counter.start();
    const out = await dockerStackDeploy(client, yaml, false);
    const ssh = await counter.stop();
    current = next;
    const final = await finalCompletedAt(kind === 'good' ? [web, side] : [web]);
    return {
      round,
      tool: 'docker-cli',
      case: kind,
      reported: `exit ${out.code}${out.code === 0 ? ' (success)' : ''}`,
      latencyS: (out.returnedAt - final.at) / 1000,
      wallS: (out.returnedAt - out.startedAt) / 1000,
      sshConnections: 1,
      sshAllConnections: ssh.all,
      finalState: final.state,
      ...final.split(out.startedAt),
    };
  };

  const step = async (round: number, kind: Case): Promise<Sample> => {
    const next = kind === 'good' ? 1 - current : current;
    const image = kind === 'good' ? images[next as 0 | 1] : crash;
    counter.start();
    const run = await timedStep({ ...sshInputs(), ...inputsFor(client, file, image, images[next as 0 | 1]) });
    const ssh = await counter.stop();
    current = next;
    const final = await finalCompletedAt(kind === 'good' ? [web, side] : [web]);
    return {
      round,
      tool: 'swarm-deploy-step',
      case: kind,
      reported: `${run.result.outputs.status ?? 'no status'} (exit ${run.result.exitCode})`,
      latencyS: (run.exitedAt - final.at) / 1000,
      wallS: (run.exitedAt - run.startedAt) / 1000,
      sshConnections: ssh.ours,
      sshAllConnections: ssh.all,
      finalState: final.state,
      ...final.split(run.startedAt),
    };
  };

  const waiter = async (round: number, kind: Case): Promise<Sample> => {
    const { next, yaml } = rendered(kind);
    counter.start();
    const deployed = await dockerStackDeploy(client, yaml, true);
    if (deployed.code !== 0) throw new Error(`docker stack deploy failed: ${deployed.output}`);
    const wait = await stackWait(client);
    const ssh = await counter.stop();
    current = next;
    // It gives up when a rollback starts: let Swarm finish before reading the final state.
    await settle([web, side]);
    const final = await finalCompletedAt(kind === 'good' ? [web, side] : [web]);
    return {
      round,
      tool: 'stack-wait',
      case: kind,
      reported: `${wait.verdict}${wait.message ? ` (${wait.message.slice(0, 120)})` : ''}`,
      latencyS: (wait.returnedAt - final.at) / 1000,
      wallS: (wait.returnedAt - deployed.startedAt) / 1000,
      sshConnections: 1 + wait.connections,
      sshAllConnections: ssh.all,
      finalState: final.state,
      ...final.split(deployed.startedAt),
    };
  };

  const tools: [Tool, (round: number, kind: Case) => Promise<Sample>][] = [
    ['swarm-deploy', ours],
    ['swarm-deploy-step', step],
    ['docker-cli', cli],
    ['stack-wait', waiter],
  ];
  try {
    for (let round = 1; round <= rounds; round++) {
      // Rotate the order so no tool always runs first on a freshly settled swarm.
      const order = [...tools.slice((round - 1) % tools.length), ...tools.slice(0, (round - 1) % tools.length)];
      for (const [tool, measure] of order) {
        for (const kind of ['good', 'rollback'] as const) {
          await settle([web, side]);
          const sample = await measure(round, kind);
          samples.push(sample);
          say(
            `  round ${round} ${tool.padEnd(12)} ${kind.padEnd(8)} latency ${sample.latencyS.toFixed(2)}s wall ${sample.wallS.toFixed(1)}s (before Swarm ${sample.startS?.toFixed(2)}s, Swarm ${sample.swarmS?.toFixed(2)}s) ssh ${sample.sshConnections} → ${sample.reported.slice(0, 60)}`,
          );
        }
      }
    }
    // A redeploy of what runs: the step, the core and the docker CLI, each on the settled stack.
    for (let round = 1; round <= rounds; round++) {
      await settle([web, side]);
      const same = images[current as 0 | 1];
      const step = await timedStep({ ...sshInputs(), ...inputsFor(client, file, same, same) });
      noop.step.push((step.exitedAt - step.startedAt) / 1000);
      const unchanged = step.lines.some((l) => l.text.startsWith('Unchanged:'));
      noop.reported.push(`${step.result.outputs.status ?? 'no status'}${unchanged ? ', unchanged' : ''}`);
      const s = settings(inputsFor(client, file, same, same));
      const startedAt = Date.now();
      const runner = openRunner(s.connection, new MemoryLog());
      try {
        await runDeploy({ runner, log: new MemoryLog() }, s.request);
      } finally {
        await runner.close();
      }
      noop.inProcess.push((Date.now() - startedAt) / 1000);
      const cliRun = await dockerStackDeploy(client, rendered('noop').yaml, false);
      noop.cli.push((cliRun.returnedAt - cliRun.startedAt) / 1000);
      say(
        `  round ${round} no-op: step ${noop.step.at(-1)?.toFixed(2)}s in-process ${noop.inProcess.at(-1)?.toFixed(2)}s docker-cli ${noop.cli.at(-1)?.toFixed(2)}s → ${noop.reported.at(-1)}`,
      );
    }
    // Figure 3 on the action itself: its main step and its post step, as the runner runs them.
    for (let i = 0; i < rounds; i++) {
      await settle([web, side]);
      const next = 1 - current;
      const inputs = new Inputs(
        mapInputs({ ...sshInputs(), ...inputsFor(client, file, images[next as 0 | 1], images[next as 0 | 1]) }),
        () => undefined,
      );
      const state = memoryState();
      const hooks = { setOutput: () => undefined, setFailed: (m: string) => say(`  main step failed: ${m}`), state };
      counter.start();
      await swarmDeploy.main({ inputs, hooks, deps: { log: new MemoryLog() } });
      steps.main.push((await counter.stop()).ours);
      current = next;
      counter.start();
      await swarmDeploy.post({ inputs, hooks, deps: { log: new MemoryLog() } });
      steps.postIdle.push((await counter.stop()).ours);
      // A main step killed while holding the lock leaves its id in the step state: the post step acts.
      const killed = postState(readConnection(inputs), { id: 'bench-killed-step', name: `sdl.${client}` });
      for (const [name, value] of Object.entries(killed)) state.save(name, value);
      counter.start();
      await swarmDeploy.post({ inputs, hooks, deps: { log: new MemoryLog() } });
      steps.postRelease.push((await counter.stop()).ours);
    }
    say(
      `  action step connections: main ${steps.main.join(',')} post(idle) ${steps.postIdle.join(',')} post(release) ${steps.postRelease.join(',')}`,
    );
  } finally {
    const { sweep } = await import('../lab/lab.js');
    sweep(client);
  }
  return { samples, noop, timeline, steps };
}
