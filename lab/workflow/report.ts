/**
 * What GitHub's run page shows for a run: each job with its steps and their outcomes (✓ ✗ –),
 * the annotations, the failed steps' last log lines, the called workflow's outputs and the job
 * summaries — as terminal text, live while the run goes and as a page at the end.
 */
import type { JobRun, RunReporter, StepRun, WorkflowRun } from './run.js';

const ICON: Record<string, string> = { success: '✓', failure: '✗', cancelled: '⊘', skipped: '–' };

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function stepLine(step: StepRun): string {
  const tolerated = step.outcome === 'failure' && step.conclusion === 'success' ? ' (failed, continue-on-error)' : '';
  const time = step.conclusion === 'skipped' ? ' (skipped)' : `  ${seconds(step.durationMs)}`;
  return `${ICON[step.conclusion] ?? '?'} ${step.name}${tolerated}${time}`;
}

/** A failed step's annotations and the end of its log, as the page expands a failed step. */
function failureDetail(step: StepRun, tail: number): string[] {
  if (step.outcome !== 'failure') return [];
  const lines = step.annotations.filter((a) => a.level === 'error').map((a) => `error: ${a.message}`);
  const log = step.log.filter((l) => !l.startsWith('##[') && l.trim() !== '').slice(-tail);
  return [...lines, ...log.map((l) => `│ ${l}`)];
}

/** Prints jobs and steps as they finish. */
export function liveReporter(say: (line: string) => void, options: { tail?: number } = {}): RunReporter {
  const tail = options.tail ?? 6;
  return {
    jobStarted: (job) => say(`● ${job.name}`),
    stepStarted: (_job, step) => say(`  ▸ ${step.name} …`),
    stepFinished: (_job, step) => {
      say(`  ${stepLine(step)}`);
      for (const line of failureDetail(step, tail)) say(`      ${line}`);
      for (const a of step.annotations.filter((x) => x.level === 'warning')) say(`      warning: ${a.message}`);
    },
    jobFinished: (job) => {
      if (job.result === 'skipped') say(`– ${job.name} (skipped${job.note ? `: ${job.note}` : ''})`);
    },
  };
}

function shown(job: JobRun): string[] {
  const out: string[] = [];
  const environment = job.shown.environment as { name?: string; url?: string } | string | undefined;
  if (environment !== undefined) {
    const name = typeof environment === 'string' ? environment : environment.name;
    const url = typeof environment === 'string' ? '' : (environment.url ?? '');
    out.push(`environment: ${name}${url ? ` → ${url}` : ''}`);
  }
  const concurrency = job.shown.concurrency as { group?: string } | string | undefined;
  if (concurrency !== undefined) {
    out.push(`concurrency: ${typeof concurrency === 'string' ? concurrency : concurrency.group} (shown, not enforced)`);
  }
  return out;
}

/** The run page: conclusion, jobs and steps, outputs, summaries. */
export function runPage(run: WorkflowRun, title: string): string[] {
  const lines = [`${ICON[run.conclusion] ?? '?'} ${title} — ${run.name} · on: ${run.event} · ${run.conclusion}`];
  for (const job of run.jobs) {
    if (job.calls !== undefined && job.result !== 'skipped') continue;
    const time = job.result === 'skipped' ? ' (skipped)' : `  ${seconds(job.durationMs)}`;
    lines.push(`  ${ICON[job.result] ?? '?'} ${job.name}${time}`);
    for (const info of shown(job)) lines.push(`      ${info}`);
    for (const step of job.steps) lines.push(`      ${stepLine(step)}`);
  }
  for (const caller of run.jobs.filter((j) => j.calls !== undefined && j.result !== 'skipped')) {
    lines.push(`  ${ICON[caller.result] ?? '?'} ${caller.name} (${caller.calls})`);
    lines.push(
      `      outputs: ${Object.entries(caller.outputs)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
    );
  }
  const summaries = run.jobs.filter((j) => j.summary.trim() !== '');
  if (summaries.length > 0) {
    lines.push('  Summary');
    for (const job of summaries) {
      lines.push(`    ── ${job.name}`);
      for (const line of job.summary.trim().split('\n')) lines.push(`    ${line}`);
    }
  }
  return lines;
}
