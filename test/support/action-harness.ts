/**
 * The in-process variant of lab/runner/action-host.ts, for tests that need seams (a fake clock, a
 * scripted probe, a fake HTTP client): the same step environment with every action.yml default
 * rendered as INPUT_*, the same GITHUB_* files, then the action's step (`action.main()`,
 * `action.post()`) reads its inputs through `environmentInputs` and writes through @actions/core,
 * and what it wrote (stdout and the files) goes through the same parser as a real step. Only the
 * process boundary differs.
 */
import * as core from '@actions/core';
import {
  collectStepFiles,
  prepareStep,
  removeStepFiles,
  stepResult,
  type ActionStepOptions,
  type ActionStepResult,
} from '../../lab/runner/action-host.js';
import { LineSplitter } from '../../lab/runner/step-output.js';

export type InProcessStepOptions = Omit<
  ActionStepOptions,
  'node' | 'timeoutMs' | 'signal' | 'cancelGraceMs' | 'kill'
> & {
  /** Calls the action's step (`action.main`, `action.post`), with whatever deps the test replaces. */
  run: () => Promise<unknown>;
};

/** Variables a step's environment owns: the caller's own are put aside while the step runs. */
const STEP_VARIABLE = /^(INPUT_|STATE_|GITHUB_|RUNNER_|ACTIONS_)|^CI$/;

let stepRunning = false;

export async function runActionInProcess(options: InProcessStepOptions): Promise<ActionStepResult> {
  // Steps in one process share process.env and stdout: two at once would read each other's.
  if (stepRunning) throw new Error('in-process steps cannot overlap; run concurrent steps with runActionStep');
  stepRunning = true;
  try {
    return await runOneStepInProcess(options);
  } finally {
    stepRunning = false;
  }
}

async function runOneStepInProcess(options: InProcessStepOptions): Promise<ActionStepResult> {
  const started = Date.now();
  const { output, files, env } = await prepareStep(options);
  const savedEnv = { ...process.env };
  const savedExitCode = process.exitCode;
  const savedWrite = process.stdout.write;
  const lines = new LineSplitter((line) => output.line(line));
  for (const name of Object.keys(process.env)) if (STEP_VARIABLE.test(name)) delete process.env[name];
  Object.assign(process.env, env);
  process.exitCode = undefined;
  // core.summary remembers the first GITHUB_STEP_SUMMARY it saw; each step has its own file.
  (core.summary as unknown as { _filePath: string | undefined })._filePath = undefined;
  core.summary.emptyBuffer();
  // @actions/core writes commands and log lines to stdout; they go to the parser instead.
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  let exitCode: number;
  try {
    await options.run();
    exitCode = Number(process.exitCode ?? 0);
  } catch (error) {
    // An exception escaping the entry would crash the step's process: exit code 1, message on stderr.
    output.line(error instanceof Error ? (error.stack ?? error.message) : String(error));
    exitCode = 1;
  } finally {
    process.stdout.write = savedWrite;
    lines.end();
    process.exitCode = savedExitCode;
    for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
    Object.assign(process.env, savedEnv);
  }
  try {
    const collected = await collectStepFiles(files, output);
    return stepResult({ exitCode, cancelled: false, timedOut: false, output, collected, started, node: 'in-process' });
  } finally {
    await removeStepFiles(files);
  }
}

/** The messages of a result's annotations of one level (what the run page lists as errors, warnings). */
export function annotationMessages(result: ActionStepResult, level: 'error' | 'warning' | 'notice'): string[] {
  return result.annotations.filter((a) => a.level === level).map((a) => a.message);
}

/** What a step showed, in the shape tests read: lines, annotations by level, summary, masks. */
export interface StepLogView {
  lines: string[];
  warnings: { message: string; annotation: { file?: string; startLine?: number; title?: string } }[];
  errors: { message: string; annotation: { file?: string; startLine?: number; title?: string } }[];
  summaries: string[];
  masked: string[];
  text(): string;
}

export interface ActionRun {
  outputs: Map<string, string>;
  /** The step's failure message (its last error annotation), undefined when it succeeded. */
  failure: string | undefined;
  log: StepLogView;
  /** What the step saved for its post step (GITHUB_STATE). */
  state: Record<string, string>;
  result: ActionStepResult;
}

export function stepView(result: ActionStepResult): ActionRun {
  const annotations = (level: 'warning' | 'error') =>
    result.annotations
      .filter((a) => a.level === level)
      .map((a) => ({
        message: a.message,
        annotation: {
          ...(a.file === undefined ? {} : { file: a.file }),
          ...(a.line === undefined ? {} : { startLine: a.line }),
          ...(a.title === undefined ? {} : { title: a.title }),
        },
      }));
  const errors = annotationMessages(result, 'error');
  return {
    outputs: new Map(Object.entries(result.outputs)),
    failure: result.outcome === 'success' ? undefined : (errors.at(-1) ?? `exit code ${String(result.exitCode)}`),
    log: {
      lines: result.log,
      warnings: annotations('warning'),
      errors: annotations('error'),
      summaries: result.summary === '' ? [] : [result.summary],
      masked: result.masks,
      text: () => [...result.log, result.summary].join('\n'),
    },
    state: result.state,
    result,
  };
}

/** Everything a step made visible (log lines, summary, outputs), for "never printed" checks. */
export function everythingShown(result: ActionStepResult): string {
  return [...result.log, result.summary, ...Object.values(result.outputs)].join('\n');
}
