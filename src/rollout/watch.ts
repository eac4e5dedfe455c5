/**
 * Watches the services a deploy changed until each reaches a final state, then, when one failed,
 * brings every changed service back (whole-stack rollback). `docker events` streamed over the same
 * connection wakes the loop the moment Swarm changes an update state; a slow tick (task states are
 * not in the event stream) and a fast poll when events are unavailable are the fallback.
 */
import { formatDuration } from '../core/duration.js';
import { ConnectionError, errorMessage } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { systemClock, type Clock } from '../core/retry.js';
import {
  inspectServices,
  serviceRollback,
  serviceTasks,
  taskLogs,
  type ServiceInfo,
  type TaskInfo,
} from '../state/docker.js';
import { checkResult, type CommandRunner, type StreamHandle } from '../core/exec.js';
import { isFailure, judgeService, type Phase, type ServiceJudgement } from './verdict.js';

export interface WatchTarget {
  /** Full service name (`<client>_<service>`). */
  name: string;
  /** Snapshot before the deploy; undefined for a service this deploy creates. */
  before: ServiceInfo | undefined;
  /**
   * The service existed before this deploy although `before` is undefined: only its replica count
   * changed (Swarm starts no update for that, so it is judged by its tasks). A rollback restores
   * its previous spec; it is never removed.
   */
  existed?: boolean | undefined;
}

export interface TimelineEntry {
  at: number; // manager time, ms
  text: string;
}

export type Outcome = 'deployed' | 'rolled-back' | 'failed';

export interface ServiceReport {
  name: string;
  image: string;
  running: number;
  desired: number;
  updateState: string;
  phase: Phase;
}

export interface WatchResult {
  outcome: Outcome;
  reason?: string | undefined;
  services: ServiceReport[];
  timeline: TimelineEntry[];
  /** Manager time (ms) at which the first service reached its final state, for the latency benchmark. */
  finalAt?: number | undefined;
  /** Errors and log tails of failed tasks, for the log and the summary. */
  failures: { service: string; taskId: string; error: string; logs: string }[];
}

export interface WatchOptions {
  runner: CommandRunner;
  log: Log;
  targets: WatchTarget[];
  /** Manager time (ms) at which the deploy was sent. */
  sentAt: number;
  timeoutMs: number;
  autoRollback: boolean;
  stuckMs?: number | undefined;
  clock?: Clock;
  /** Offset to convert this machine's clock to the manager's (manager − local), ms. */
  clockOffsetMs?: number;
  tickMs?: number;
  /** How long a new service's replicas must keep running before it counts as deployed (default 5 s). */
  settleMs?: number;
  useEvents?: boolean | undefined;
  /** Called before the rollback changes anything; throws to stop (state/lock.ts `fence`). */
  fence?: ((step: string) => Promise<void>) | undefined;
}

const PHASE_TEXT: Record<Phase, string> = {
  waiting: 'waiting for the update to start',
  updating: 'updating',
  completed: 'update completed',
  paused: 'update paused after task failures',
  rollback_started: 'Swarm started rolling back',
  rollback_paused: 'rollback paused (the rollback itself failed)',
  rollback_completed: 'rolled back',
  stuck: 'new tasks stuck pending (no node can run them)',
  failing: 'new tasks keep failing',
};

/** Update states that decide a rollout (it ended, or it failed), as the event stream reports them. */
const EVENT_FINAL = new Set(['completed', 'paused', 'rollback_started', 'rollback_completed', 'rollback_paused']);

function isFinalOrFailing(phase: Phase): boolean {
  return phase === 'completed' || isFailure(phase);
}

/** How a failure reads in the reason, by the phase in which it was first seen. */
const FAILURE_TEXT: Partial<Record<Phase, string>> = {
  paused: 'new tasks failed and the update paused',
  rollback_started: 'new tasks failed',
  rollback_paused: 'new tasks failed and the rollback paused',
  rollback_completed: 'new tasks failed',
  stuck: 'new tasks stuck pending (no node can run them)',
  failing: 'new tasks keep failing',
};

export class RolloutWatch {
  private readonly clock: Clock;
  private readonly timeline: TimelineEntry[] = [];
  private readonly seenTasks = new Map<string, string>();
  private readonly judgements = new Map<string, ServiceJudgement>();
  private services = new Map<string, ServiceInfo>();
  private tasks: TaskInfo[] = [];
  private wake: (() => void) | undefined;
  /** An event arrived since the last refresh began: the next wait returns at once instead of losing it. */
  private changed = false;
  private events: StreamHandle | undefined;
  private eventsAlive = false;
  private finalAt: number | undefined;
  private readonly firstPhase = new Map<string, Phase>();
  private readonly runningSince = new Map<string, number>();
  /** Every state each task was seen in, to tell a task that never got healthy from one that ran. */
  private readonly history = new Map<string, string[]>();

  constructor(private readonly options: WatchOptions) {
    this.clock = options.clock ?? systemClock;
  }

  private managerNow(): number {
    return this.clock.now() + (this.options.clockOffsetMs ?? 0);
  }

  private note(text: string, at = this.managerNow()): void {
    this.timeline.push({ at, text });
    this.options.log.info(`[${formatDuration(Math.max(0, at - this.options.sentAt))}] ${text}`);
  }

  private startEvents(): void {
    if (this.options.useEvents === false) return;
    this.eventsDropped = false;
    const names = this.options.targets.map((t) => t.name);
    const since = Math.floor(this.options.sentAt / 1000) - 1;
    const until = Math.ceil((this.options.sentAt + this.options.timeoutMs) / 1000) + 120;
    // --until bounds the remote command even if our channel close were lost: it ends by itself.
    this.events = this.options.runner.stream(
      [
        'docker',
        'events',
        '--filter',
        'scope=swarm',
        '--filter',
        'type=service',
        ...names.flatMap((n) => ['--filter', `service=${n}`]),
        '--since',
        String(since),
        '--until',
        String(until),
        '--format',
        '{{json .}}',
      ],
      (line) => {
        this.eventsAlive = true;
        this.changed = true;
        this.options.log.debug(`event: ${line}`);
        this.recordEvent(line);
        this.wake?.();
      },
    );
    this.eventsAlive = true;
    const handle = this.events;
    void handle.done.then((result) => {
      if (this.events !== handle) return; // stopped, or replaced by a restart
      this.eventsAlive = false;
      // No exit code: the connection dropped under the stream (docker events itself ends with one).
      if (result.code === null) {
        // Restart it at the next turn of the loop, even if the loop is not waiting yet.
        this.eventsDropped = true;
        this.changed = true;
      } else if (result.code !== 0) this.options.log.debug(`docker events ended (${result.code}): ${result.stderr}`);
      this.wake?.();
    });
  }

  /** The event stream died with the connection and is not running: whether to start it again. */
  private eventsDropped = false;
  private eventRestarts = 0;

  /**
   * Start the event stream again after a dropped connection, right before a read of the swarm: the
   * read covers whatever changed during the gap, and the new stream replays this deploy's events
   * (`--since` the deploy), which record the same states again. Bounded, so a link that keeps
   * failing leaves the watch polling instead of restarting the stream forever.
   */
  private restartEvents(): void {
    if (!this.eventsDropped || this.eventRestarts >= 10) return;
    this.eventRestarts += 1;
    this.options.log.debug('docker events: the connection dropped; starting the stream again');
    this.startEvents();
  }

  /**
   * Update-state transitions from the event stream (`updatestate.new` on service events). Only
   * transitions that follow an `updating` seen after this deploy was sent are ours; a final one
   * decides the service's phase at once, without waiting for the next read of the swarm.
   */
  private recordEvent(line: string): void {
    let event: { Actor?: { Attributes?: Record<string, string> }; timeNano?: number; time?: number };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return;
    }
    const attributes = event.Actor?.Attributes ?? {};
    const name = attributes.name;
    const state = attributes['updatestate.new'];
    if (!name || !state) return;
    const at = event.timeNano ? Math.floor(event.timeNano / 1e6) : (event.time ?? 0) * 1000;
    if (at < this.options.sentAt - 1000) return;
    if (state === 'updating') this.eventStarted.add(name);
    if (this.eventStarted.has(name)) this.eventStates.set(name, { state, at });
  }

  private readonly eventStarted = new Set<string>();
  private readonly eventDecided = new Map<string, number>();
  private readonly eventStates = new Map<string, { state: string; at: number }>();

  private stopEvents(): void {
    this.events?.stop();
    this.events = undefined;
  }

  /** Sleep until an event arrives or the tick elapses. */
  private waitForChange(ms: number): Promise<void> {
    // An event that arrived while the last refresh was running has no waiter to wake.
    if (this.changed) return Promise.resolve();
    return new Promise((resolve) => {
      let done = false;
      // A wake-up cancels the tick's timer: a pending timer would keep the step's process alive
      // for up to a tick after the verdict.
      const tick = new AbortController();
      const finish = () => {
        if (done) return;
        done = true;
        this.wake = undefined;
        tick.abort();
        resolve();
      };
      this.wake = finish;
      void this.clock.sleep(ms, tick.signal).then(finish);
    });
  }

  private async refresh(names: string[]): Promise<void> {
    this.changed = false;
    // Independent reads, run side by side on the one connection: one round trip less per tick.
    [this.services, this.tasks] = await Promise.all([
      inspectServices(this.options.runner, names),
      serviceTasks(this.options.runner, names),
    ]);
    for (const task of this.tasks) {
      const state = task.Status.State;
      const key = `${task.ID}`;
      const states = this.history.get(key) ?? [];
      if (states[states.length - 1] !== state) this.history.set(key, [...states, state]);
      if (this.seenTasks.get(key) === state) continue;
      const createdAfter = Date.parse(task.CreatedAt) >= this.options.sentAt - 1000;
      this.seenTasks.set(key, state);
      if (!createdAfter) continue;
      const service = [...this.services.values()].find((s) => s.ID === task.ServiceID)?.Spec.Name ?? 'service';
      const slot = task.Slot !== undefined ? `.${task.Slot}` : '';
      const image = shortImage(task.Spec.ContainerSpec?.Image ?? '');
      if (state === 'running') this.note(`${service}${slot} running ${image}`, Date.parse(task.Status.Timestamp));
      else if (state === 'failed' || state === 'rejected')
        this.note(
          `${service}${slot} ${state}: ${task.Status.Err || task.Status.Message}`,
          Date.parse(task.Status.Timestamp),
        );
    }
  }

  private judgeAll(targets: WatchTarget[]): Map<string, ServiceJudgement> {
    const now = this.managerNow();
    for (const target of targets) {
      const service = this.services.get(target.name);
      if (!service) continue;
      const judgement = judgeService({
        service,
        before: target.before,
        tasks: this.tasks,
        sentAt: this.options.sentAt,
        now,
        stuckMs: this.options.stuckMs ?? 60_000,
      });
      const event = this.eventStates.get(target.name);
      if (event && target.before !== undefined && EVENT_FINAL.has(event.state) && !isFinalOrFailing(judgement.phase)) {
        // The event stream saw our update end before the last read could: trust it now.
        judgement.phase = event.state as Phase;
        this.eventDecided.set(target.name, event.at);
      }
      // A service this deploy creates has no update monitor: it counts as completed only once all
      // its replicas have kept running for a settle period, so a crash loop is not read as success.
      if (target.before === undefined && judgement.phase === 'completed') {
        const since = this.runningSince.get(target.name) ?? now;
        this.runningSince.set(target.name, since);
        if (now - since < (this.options.settleMs ?? 5000)) judgement.phase = 'updating';
      } else {
        this.runningSince.delete(target.name);
      }
      const previous = this.judgements.get(target.name);
      if (isFailure(judgement.phase) && !this.firstPhase.has(target.name))
        this.firstPhase.set(target.name, judgement.phase);
      if (previous?.phase !== judgement.phase && judgement.phase !== 'waiting') {
        const completedAt = this.eventDecided.get(target.name) ?? Date.parse(service.UpdateStatus?.CompletedAt ?? '');
        this.note(`${target.name}: ${PHASE_TEXT[judgement.phase]}`, Number.isFinite(completedAt) ? completedAt : now);
      }
      this.judgements.set(target.name, judgement);
    }
    return this.judgements;
  }

  /** Loop until every target is settled (or `until` says stop); returns false on timeout. */
  private async loop(
    targets: WatchTarget[],
    deadline: number,
    settled: (j: ServiceJudgement | undefined) => boolean,
  ): Promise<boolean> {
    const names = targets.map((t) => t.name);
    let readFailures = 0;
    for (let first = true; ; first = false) {
      if (!first && this.eventStates.size > 0) {
        const judgements = this.judgeAll(targets);
        if (targets.every((t) => settled(judgements.get(t.name)))) return true;
      }
      this.restartEvents();
      try {
        await this.refresh(names);
        readFailures = 0;
      } catch (error) {
        // The transport already reconnects and repeats reads within its own window: a connection
        // error means that window passed. Anything else may be a blip worth another read.
        if (error instanceof ConnectionError) throw error;
        readFailures += 1;
        this.options.log.warning(`Reading the rollout's state failed (${errorMessage(error)}); retrying`);
        if (readFailures >= 5 || this.clock.now() >= deadline) throw error;
        await this.clock.sleep(1000);
        continue;
      }
      const judgements = this.judgeAll(targets);
      if (targets.every((t) => settled(judgements.get(t.name)))) return true;
      if (this.clock.now() >= deadline) return false;
      const tick = this.eventsAlive ? (this.options.tickMs ?? 2000) : 500;
      await this.waitForChange(Math.min(tick, Math.max(0, deadline - this.clock.now())));
    }
  }

  async run(): Promise<WatchResult> {
    const { targets, log, runner } = this.options;
    const start = this.clock.now();
    const deadline = start + this.options.timeoutMs;
    this.startEvents();
    let reason: string | undefined;
    try {
      // Phase 1: watch our rollout until every service completed, or one failed.
      const finishedOrFailed = (j: ServiceJudgement | undefined) =>
        j !== undefined && (j.phase === 'completed' || isFailure(j.phase));
      const anyFailure = () => [...this.judgements.values()].some((j) => isFailure(j.phase));
      const allDone = await this.loop(
        targets,
        deadline,
        (j) => finishedOrFailed(j) || (anyFailure() && j?.phase !== 'waiting'),
      );
      const failed = targets.filter((t) => {
        const phase = this.judgements.get(t.name)?.phase;
        return phase !== undefined && isFailure(phase);
      });
      if (allDone && failed.length === 0) {
        this.finalAt = this.managerNow();
        this.note('verdict: deployed');
        // Swarm said completed: every replica was replaced and kept running through the monitor.
        for (const target of targets) {
          const j = this.judgements.get(target.name);
          if (j && this.eventDecided.has(target.name)) j.running = Math.max(j.running, j.desired);
        }
        return this.result('deployed', undefined);
      }
      this.finalAt = this.managerNow();
      const firstFailed = [...failed];
      reason = allDone
        ? 'the rollout failed'
        : `timed out after ${formatDuration(this.options.timeoutMs)} waiting for ${this.pending(targets)}`;
      if (!allDone) this.note(`timeout: ${reason}`);

      if (!this.options.autoRollback) {
        reason = allDone ? await this.describeFailure(firstFailed) : reason;
        log.error(`Rollout failed: ${reason}`);
        return this.result('failed', `${reason} (auto-rollback is off: the services are left as Swarm left them)`);
      }

      // Phase 2: every service this deploy changed goes back (whole-stack rollback).
      await this.options.fence?.('rolling back');
      this.note('rolling back every service this deploy changed');
      for (const target of targets) {
        const phase = this.judgements.get(target.name)?.phase;
        if (phase === 'rollback_started' || phase === 'rollback_completed' || phase === 'rollback_paused') continue;
        try {
          if (target.before === undefined && !target.existed) {
            await removeService(runner, target.name);
            this.note(`${target.name}: removed (it did not exist before this deploy)`);
          } else {
            await serviceRollback(runner, target.name);
          }
        } catch (error) {
          log.warning(`Could not roll back ${target.name}: ${errorMessage(error)}`);
        }
      }
      const rollbackDeadline = this.clock.now() + Math.max(120_000, this.options.timeoutMs);
      const existing = targets.filter((t) => t.before !== undefined);
      const rolledBackSettled = (j: ServiceJudgement | undefined) =>
        j?.phase === 'rollback_completed' || j?.phase === 'rollback_paused';
      const rollbackDone = await this.loop(existing, rollbackDeadline, rolledBackSettled);
      const allBack =
        rollbackDone && existing.every((t) => this.judgements.get(t.name)?.phase === 'rollback_completed');
      if (this.eventDecided.size > 0) await this.settleReport(targets);
      // Task errors settle after the first failure is seen: describe it from the final state.
      if (allDone) reason = await this.describeFailure(firstFailed);
      log.error(`Rollout failed: ${reason}`);
      if (allBack) {
        this.note('rollback completed: the previous version is serving');
        return this.result('rolled-back', reason);
      }
      return this.result('failed', `${reason}; the rollback did not complete: ${this.pending(existing)}`);
    } finally {
      this.stopEvents();
    }
  }

  /** One more read after an event-decided verdict, so the report's replica counts and task errors are current. */
  private async settleReport(targets: WatchTarget[]): Promise<void> {
    try {
      await this.refresh(targets.map((t) => t.name));
      this.judgeAll(targets);
    } catch (error) {
      this.options.log.debug(`final read for the report failed: ${errorMessage(error)}`);
    }
  }

  private pending(targets: WatchTarget[]): string {
    return targets
      .map((t) => {
        const j = this.judgements.get(t.name);
        return `${t.name} (${j ? `${PHASE_TEXT[j.phase]}, ${j.running}/${j.desired} running` : 'not found'})`;
      })
      .join(', ');
  }

  private readonly failureDetails: WatchResult['failures'] = [];

  private async describeFailure(failed: WatchTarget[]): Promise<string> {
    const parts: string[] = [];
    for (const target of failed) {
      const j = this.judgements.get(target.name);
      if (!j) continue;
      const errors = [
        ...new Set([...j.errors.map((e) => e.error), ...this.silentFailures(target.name).map((f) => f.error)]),
      ].slice(0, 3);
      const message = this.services.get(target.name)?.UpdateStatus?.Message;
      const why = errors.length ? errors.join('; ') : (message ?? '');
      parts.push(
        `${target.name}: ${FAILURE_TEXT[this.firstPhase.get(target.name) ?? j.phase] ?? PHASE_TEXT[j.phase]}${why ? ` — ${why}` : ''}`,
      );
      const failing = [...j.errors, ...this.silentFailures(target.name)].slice(0, 2);
      // The failing tasks' log tails are read side by side: the verdict waits for one round trip, not two.
      const tails = await Promise.all(failing.map((error) => taskLogs(this.options.runner, error.taskId)));
      failing.forEach((error, index) => {
        const logs = tails[index] ?? '';
        this.failureDetails.push({ service: target.name, taskId: error.taskId, error: error.error, logs });
        if (logs)
          this.options.log.info(`Last log lines of task ${error.taskId.slice(0, 12)} (${target.name}):\n${logs}`);
      });
    }
    return parts.join('; ') || 'the rollout failed';
  }

  /**
   * Tasks of this rollout that ended without an error while still starting: Docker stops a container
   * whose healthcheck fails, and an app that exits cleanly on SIGTERM then reports "finished".
   */
  private silentFailures(service: string): { taskId: string; error: string }[] {
    const id = this.services.get(service)?.ID;
    return this.tasks
      .filter((t) => t.ServiceID === id && Date.parse(t.CreatedAt) >= this.options.sentAt - 1000)
      .filter((t) => !t.Status.Err && (t.Status.State === 'complete' || t.Status.State === 'shutdown'))
      .filter((t) => this.history.get(t.ID)?.includes('starting') && !this.history.get(t.ID)?.includes('running'))
      .map((t) => ({
        taskId: t.ID,
        error: 'unhealthy container: stopped by its healthcheck before it became healthy',
      }));
  }

  private result(outcome: Outcome, reason: string | undefined): WatchResult {
    const services: ServiceReport[] = this.options.targets.map((t) => {
      const service = this.services.get(t.name);
      const j = this.judgements.get(t.name);
      return {
        name: t.name,
        image: service?.Spec.TaskTemplate.ContainerSpec?.Image ?? '',
        running: j?.running ?? 0,
        desired: j?.desired ?? 0,
        updateState:
          (this.eventDecided.has(t.name) ? this.eventStates.get(t.name)?.state : undefined) ??
          service?.UpdateStatus?.State ??
          (j?.phase === 'completed' ? 'completed' : 'none'),
        phase: j?.phase ?? 'waiting',
      };
    });
    return { outcome, reason, services, timeline: this.timeline, finalAt: this.finalAt, failures: this.failureDetails };
  }
}

/** Remove a service; one already gone (a removal repeated after a dropped connection) is removed. */
async function removeService(runner: CommandRunner, name: string): Promise<void> {
  const argv = ['docker', 'service', 'rm', name];
  const result = await runner.run(argv, { allowFailure: true });
  if (result.code !== 0 && !/not found|No such service/i.test(result.stderr)) checkResult(argv, result, {});
}

export function shortImage(image: string): string {
  const [name = image, digest] = image.split('@');
  const tail = name.split('/').pop() ?? name;
  return digest ? `${tail}@${digest.replace('sha256:', '').slice(0, 12)}` : tail;
}
