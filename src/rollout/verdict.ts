/**
 * Pure judgement of one service's rollout from what `docker service inspect` and the service's
 * tasks say. No I/O: the watch loop feeds it snapshots and acts on the answer.
 *
 * Swarm facts this relies on (swarmkit's updater):
 * - A new update replaces UpdateStatus; until then the old one stays visible, so only an update
 *   whose StartedAt differs from the snapshot taken before this deploy is ours.
 * - States: updating, paused, completed, rollback_started, rollback_paused, rollback_completed.
 * - Tasks stuck Pending never count as failures: the update would stay `updating` forever.
 */
import type { ServiceInfo, TaskInfo } from '../state/docker.js';

export type Phase =
  | 'waiting' // our update has not started yet
  | 'updating'
  | 'completed'
  | 'paused'
  | 'rollback_started'
  | 'rollback_paused'
  | 'rollback_completed'
  | 'stuck' // new tasks pending for too long
  | 'failing'; // a brand-new service whose tasks keep failing

export interface ServiceJudgement {
  phase: Phase;
  running: number;
  desired: number;
  /** Errors of this rollout's failed tasks, newest first: `task: non-zero exit (3)`, `No such image: …`. */
  errors: { taskId: string; error: string; state: string; at: string }[];
}

export interface JudgeInput {
  service: ServiceInfo;
  /** The service as it was before this deploy; undefined for a service this deploy creates. */
  before: ServiceInfo | undefined;
  tasks: TaskInfo[];
  /** Manager time (ms) when this deploy was sent. */
  sentAt: number;
  now: number;
  /** How long a task of this rollout may stay pending/assigned before the rollout counts as stuck. */
  stuckMs: number;
  /** A new service is failing after this many failed tasks of its own. */
  newServiceFailures?: number;
}

const FAILED_STATES = new Set(['failed', 'rejected']);
const PENDING_STATES = new Set(['new', 'pending', 'allocated', 'assigned']);

export function desiredReplicas(service: ServiceInfo): number {
  return service.Spec.Mode?.Replicated?.Replicas ?? 1;
}

export function isOurUpdate(service: ServiceInfo, before: ServiceInfo | undefined): boolean {
  const now = service.UpdateStatus;
  if (!now?.State) return false;
  const then = before?.UpdateStatus;
  return !then?.StartedAt || now.StartedAt !== then.StartedAt;
}

export function judgeService(input: JudgeInput): ServiceJudgement {
  const { service, before, tasks, sentAt, now } = input;
  const ours = tasks.filter((t) => t.ServiceID === service.ID && Date.parse(t.CreatedAt) >= sentAt - 1000);
  const current = tasks.filter((t) => t.ServiceID === service.ID && t.DesiredState === 'running');
  const running = current.filter((t) => t.Status.State === 'running').length;
  const desired = desiredReplicas(service);
  const errors = ours
    .filter((t) => FAILED_STATES.has(t.Status.State) || (t.Status.Err ?? '') !== '')
    .sort((a, b) => Date.parse(b.Status.Timestamp) - Date.parse(a.Status.Timestamp))
    .map((t) => ({
      taskId: t.ID,
      error: t.Status.Err || t.Status.Message || t.Status.State,
      state: t.Status.State,
      at: t.Status.Timestamp,
    }));
  const stuck = ours.some(
    (t) =>
      t.DesiredState === 'running' &&
      PENDING_STATES.has(t.Status.State) &&
      now - Date.parse(t.CreatedAt) > input.stuckMs,
  );
  const base = { running, desired, errors };

  if (before === undefined) {
    // A service this deploy creates has no update to watch: judge its tasks.
    if (running >= desired) return { phase: 'completed', ...base };
    if (stuck) return { phase: 'stuck', ...base };
    if (errors.length >= (input.newServiceFailures ?? 3)) return { phase: 'failing', ...base };
    return { phase: 'updating', ...base };
  }

  if (!isOurUpdate(service, before)) {
    return { phase: 'waiting', ...base };
  }
  const state = service.UpdateStatus?.State ?? 'updating';
  if (state === 'updating' && stuck) return { phase: 'stuck', ...base };
  if (
    state === 'updating' ||
    state === 'paused' ||
    state === 'completed' ||
    state === 'rollback_started' ||
    state === 'rollback_paused' ||
    state === 'rollback_completed'
  ) {
    return { phase: state, ...base };
  }
  return { phase: 'updating', ...base };
}

/** Phases after which Swarm will do nothing more on its own. */
export function isFinal(phase: Phase): boolean {
  return phase === 'completed' || phase === 'paused' || phase === 'rollback_paused' || phase === 'rollback_completed';
}

/** Phases that mean this rollout failed (whatever Swarm does next). */
export function isFailure(phase: Phase): boolean {
  return (
    phase === 'paused' ||
    phase === 'rollback_started' ||
    phase === 'rollback_paused' ||
    phase === 'rollback_completed' ||
    phase === 'stuck' ||
    phase === 'failing'
  );
}

/** Whether the task template (image, env, secrets, …) changed, i.e. whether Swarm will roll tasks. */
export function taskTemplateChanged(before: ServiceInfo | undefined, after: ServiceInfo): boolean {
  if (!before) return true;
  // Swarm also replaces tasks when the published ports change (EndpointSpec).
  return (
    JSON.stringify(before.Spec.TaskTemplate) !== JSON.stringify(after.Spec.TaskTemplate) ||
    JSON.stringify(before.Spec.EndpointSpec ?? null) !== JSON.stringify(after.Spec.EndpointSpec ?? null)
  );
}
