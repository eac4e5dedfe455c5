import { describe, expect, test } from 'vitest';
import {
  desiredReplicas,
  isFailure,
  isFinal,
  isOurUpdate,
  judgeService,
  taskTemplateChanged,
  type JudgeInput,
  type Phase,
} from '../../../src/rollout/verdict.js';
import { SENT_AT, service, task } from '../../support/swarm-fixtures.js';

const OLD_START = SENT_AT - 600_000; // an update from an earlier deploy
const NEW_START = SENT_AT + 500; // the update this deploy started

const before = service('shop_web', {
  replicas: 2,
  update: { state: 'completed', startedAt: OLD_START, completedAt: OLD_START + 30_000 },
});

function judge(partial: Partial<JudgeInput> & Pick<JudgeInput, 'service'>): ReturnType<typeof judgeService> {
  return judgeService({ before, tasks: [], sentAt: SENT_AT, now: SENT_AT + 5_000, stuckMs: 60_000, ...partial });
}

describe('isOurUpdate', () => {
  test.each([
    ['no UpdateStatus yet (Swarm reset it and has not started)', undefined, before, false],
    ['the stale status from before the deploy', { state: 'completed', startedAt: OLD_START }, before, false],
    [
      'a stale rollback_completed from an earlier failed deploy',
      { state: 'rollback_completed', startedAt: OLD_START },
      service('x', { update: { state: 'rollback_completed', startedAt: OLD_START } }),
      false,
    ],
    ['an update that started after the snapshot', { state: 'updating', startedAt: NEW_START }, before, true],
    ['a rollback Swarm started after the snapshot', { state: 'rollback_started', startedAt: NEW_START }, before, true],
    [
      'any update of a service that never had one before',
      { state: 'updating', startedAt: NEW_START },
      service('x'),
      true,
    ],
    ['any update when there is no snapshot', { state: 'completed', startedAt: NEW_START }, undefined, true],
  ] as const)('%s', (_label, update, then, expected) => {
    const now = service('shop_web', update ? { update } : {});
    expect(isOurUpdate(now, then)).toBe(expected);
  });
});

describe('judgeService on a service that existed before the deploy', () => {
  test('a stale UpdateStatus from before the deploy is waiting, whatever its state', () => {
    for (const state of ['completed', 'paused', 'rollback_completed', 'rollback_paused']) {
      const then = service('shop_web', { update: { state, startedAt: OLD_START } });
      const now = service('shop_web', { update: { state, startedAt: OLD_START } });
      expect(judge({ service: now, before: then }).phase).toBe('waiting');
    }
  });

  test('no UpdateStatus right after the deploy reset it is waiting', () => {
    expect(judge({ service: service('shop_web', { replicas: 2 }) }).phase).toBe('waiting');
  });

  test.each<[string, Phase]>([
    ['updating', 'updating'],
    ['paused', 'paused'],
    ['completed', 'completed'],
    ['rollback_started', 'rollback_started'],
    ['rollback_paused', 'rollback_paused'],
    ['rollback_completed', 'rollback_completed'],
    ['some_future_state', 'updating'],
  ])('our update in state %s is phase %s', (state, phase) => {
    const now = service('shop_web', { replicas: 2, update: { state, startedAt: NEW_START } });
    expect(judge({ service: now }).phase).toBe(phase);
  });

  test('a task of this rollout pending longer than stuckMs makes an updating rollout stuck', () => {
    const now = service('shop_web', { replicas: 2, update: { state: 'updating', startedAt: NEW_START } });
    const pending = task({ id: 't-new', serviceId: now.ID, state: 'pending', createdAt: SENT_AT + 1_000 });
    expect(judge({ service: now, tasks: [pending], now: SENT_AT + 30_000, stuckMs: 60_000 }).phase).toBe('updating');
    expect(judge({ service: now, tasks: [pending], now: SENT_AT + 61_001, stuckMs: 60_000 }).phase).toBe('stuck');
    for (const state of ['new', 'allocated', 'assigned']) {
      const t = task({ id: 't', serviceId: now.ID, state, createdAt: SENT_AT + 1_000 });
      expect(judge({ service: now, tasks: [t], now: SENT_AT + 61_001 }).phase).toBe('stuck');
    }
  });

  test('pending tasks from before the deploy, or that are being shut down, are not stuck', () => {
    const now = service('shop_web', { replicas: 2, update: { state: 'updating', startedAt: NEW_START } });
    const old = task({ id: 'old', serviceId: now.ID, state: 'pending', createdAt: SENT_AT - 120_000 });
    const leaving = task({ id: 'leaving', serviceId: now.ID, state: 'pending', desired: 'shutdown' });
    expect(judge({ service: now, tasks: [old, leaving], now: SENT_AT + 600_000 }).phase).toBe('updating');
  });

  test('stuck applies only while updating: a completed update with a slow task is completed', () => {
    const now = service('shop_web', { update: { state: 'completed', startedAt: NEW_START } });
    const pending = task({ id: 't', serviceId: now.ID, state: 'pending' });
    expect(judge({ service: now, tasks: [pending], now: SENT_AT + 600_000 }).phase).toBe('completed');
  });

  test('running and desired count only tasks meant to run; errors are this rollout’s, newest first', () => {
    const now = service('shop_web', { replicas: 3, update: { state: 'rollback_started', startedAt: NEW_START } });
    const other = service('shop_worker');
    const tasks = [
      task({ id: 'r1', serviceId: now.ID, state: 'running', createdAt: SENT_AT - 60_000 }),
      task({ id: 'r2', serviceId: now.ID, state: 'running', createdAt: SENT_AT - 60_000 }),
      task({ id: 'gone', serviceId: now.ID, state: 'running', desired: 'shutdown', createdAt: SENT_AT - 60_000 }),
      task({
        id: 'f1',
        serviceId: now.ID,
        state: 'failed',
        desired: 'shutdown',
        at: SENT_AT + 2_000,
        err: 'task: non-zero exit (3)',
      }),
      task({
        id: 'f2',
        serviceId: now.ID,
        state: 'rejected',
        desired: 'shutdown',
        at: SENT_AT + 4_000,
        err: 'No such image: shop/web:v2',
      }),
      task({
        id: 'ancient',
        serviceId: now.ID,
        state: 'failed',
        desired: 'shutdown',
        createdAt: SENT_AT - 90_000,
        err: 'old failure',
      }),
      task({ id: 'theirs', serviceId: other.ID, state: 'failed', err: 'another service' }),
    ];
    const judgement = judge({ service: now, tasks });
    expect(judgement).toMatchObject({ phase: 'rollback_started', running: 2, desired: 3 });
    expect(judgement.errors.map((e) => [e.taskId, e.error, e.state])).toEqual([
      ['f2', 'No such image: shop/web:v2', 'rejected'],
      ['f1', 'task: non-zero exit (3)', 'failed'],
    ]);
  });

  test('a failed task without Err reports its state', () => {
    const now = service('shop_web', { update: { state: 'paused', startedAt: NEW_START } });
    const failed = task({ id: 'f', serviceId: now.ID, state: 'failed', desired: 'shutdown' });
    expect(judge({ service: now, tasks: [failed] }).errors).toEqual([
      expect.objectContaining({ taskId: 'f', error: 'failed', state: 'failed' }),
    ]);
  });
});

describe('judgeService on a service this deploy creates (before undefined)', () => {
  const created = service('shop_api', { id: 'api', replicas: 2 });
  const running = (id: string) => task({ id, serviceId: 'api', state: 'running' });
  const failed = (id: string) =>
    task({ id, serviceId: 'api', state: 'failed', desired: 'shutdown', err: 'task: non-zero exit (1)' });

  test.each<[string, ReturnType<typeof task>[], number, Phase]>([
    ['all replicas running', [running('a'), running('b')], 5_000, 'completed'],
    ['one of two running', [running('a')], 5_000, 'updating'],
    ['no task yet', [], 5_000, 'updating'],
    ['two failures (under the threshold of 3)', [running('a'), failed('x'), failed('y')], 5_000, 'updating'],
    ['three failures', [running('a'), failed('x'), failed('y'), failed('z')], 5_000, 'failing'],
    [
      'a task pending past stuckMs',
      [running('a'), task({ id: 'p', serviceId: 'api', state: 'pending' })],
      61_001,
      'stuck',
    ],
  ])('%s → %s', (_label, tasks, after, phase) => {
    expect(judge({ service: created, before: undefined, tasks, now: SENT_AT + after }).phase).toBe(phase);
  });

  test('the failure threshold is configurable', () => {
    const tasks = [failed('x')];
    expect(judge({ service: created, before: undefined, tasks, newServiceFailures: 1 }).phase).toBe('failing');
  });

  test('an UpdateStatus on a new service does not matter: its tasks are judged', () => {
    const odd = service('shop_api', { id: 'api', update: { state: 'paused', startedAt: NEW_START } });
    expect(judge({ service: odd, before: undefined, tasks: [running('a')] }).phase).toBe('completed');
  });
});

describe('phase classes', () => {
  test.each<[Phase, boolean, boolean]>([
    ['waiting', false, false],
    ['updating', false, false],
    ['completed', true, false],
    ['paused', true, true],
    ['rollback_started', false, true],
    ['rollback_paused', true, true],
    ['rollback_completed', true, true],
    ['stuck', false, true],
    ['failing', false, true],
  ])('%s: final %s, failure %s', (phase, final, failure) => {
    expect(isFinal(phase)).toBe(final);
    expect(isFailure(phase)).toBe(failure);
  });
});

describe('taskTemplateChanged and desiredReplicas', () => {
  const base = service('shop_web', { image: 'shop/web:v1', env: ['A=1'] });

  test.each([
    ['no snapshot (a new service)', undefined, base, true],
    ['the same spec', base, service('shop_web', { image: 'shop/web:v1', env: ['A=1'] }), false],
    ['another image', base, service('shop_web', { image: 'shop/web:v2', env: ['A=1'] }), true],
    ['another env', base, service('shop_web', { image: 'shop/web:v1', env: ['A=2'] }), true],
    ['another secret', base, service('shop_web', { image: 'shop/web:v1', env: ['A=1'], secrets: ['s_1'] }), true],
    ['only the replica count', base, service('shop_web', { image: 'shop/web:v1', env: ['A=1'], replicas: 5 }), false],
    [
      'only service labels',
      base,
      service('shop_web', { image: 'shop/web:v1', env: ['A=1'], labels: { a: 'b' } }),
      false,
    ],
  ] as const)('%s → %s', (_label, then, now, expected) => {
    expect(taskTemplateChanged(then, now)).toBe(expected);
  });

  test('a forced update changes the task template', () => {
    const forced = service('shop_web', { image: 'shop/web:v1', env: ['A=1'] });
    forced.Spec.TaskTemplate.ForceUpdate = 1;
    expect(taskTemplateChanged(base, forced)).toBe(true);
  });

  test('desired replicas default to 1 (a global service or a spec without a count)', () => {
    expect(desiredReplicas(service('a', { replicas: 4 }))).toBe(4);
    const global = service('b');
    global.Spec.Mode = { Global: {} };
    expect(desiredReplicas(global)).toBe(1);
  });
});
