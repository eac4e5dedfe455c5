/**
 * The local workflow runner: runs a workflow file of this pack or of an example client as GitHub
 * would — jobs in `needs` order, `if:` with the status functions, step and job outputs, env,
 * `continue-on-error`, reusable workflows with typed inputs and required secrets, masks — on
 * this machine, against the lab. The pack's actions run from this checkout through the
 * runner-contract harness (their committed bundles under Node 24); third-party actions the lab
 * cannot reach are replaced by the stand-ins of ./stand-ins.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { isBoolean } from '@actions/workflow-parser';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { WorkflowError } from './errors.js';
import {
  asString,
  evaluateCondition,
  evaluateString,
  evaluateStringMap,
  evaluateToken,
  type Scope,
  type StatusFunctions,
} from './expressions.js';
import {
  readActionMetadata,
  runActionStep,
  StepOutput,
  type GithubContext,
  type StepAnnotation,
} from '../runner/action-host.js';
import { packActionPath, packWorkflowPath } from './pack-uses.js';
import { runScript } from './run-script.js';
import {
  checkRunsOn,
  loadWorkflow,
  type InputDefinition,
  type JobDefinition,
  type StepDefinition,
  type WorkflowDefinition,
} from './load.js';
import type { StandIn } from './stand-ins/stand-in.js';

export type Conclusion = 'success' | 'failure' | 'cancelled' | 'skipped';

export interface StepRun {
  id: string;
  name: string;
  phase: 'main' | 'post';
  outcome: Conclusion;
  conclusion: Conclusion;
  outputs: Record<string, string>;
  log: string[];
  annotations: StepAnnotation[];
  /** What the step wrote to GITHUB_STEP_SUMMARY. */
  summary?: string;
  durationMs: number;
}

export interface JobRun {
  /** The job's id, prefixed by its caller's for a called workflow's job (`deploy/build`). */
  id: string;
  /** As the run page shows it: `deploy / Build and push`. */
  name: string;
  result: Conclusion;
  outputs: Record<string, string>;
  steps: StepRun[];
  summary: string;
  /** Accepted and shown, not enforced: concurrency, permissions, environment, runs-on. */
  shown: Record<string, unknown>;
  /** For a caller job: the reusable workflow it calls (its jobs follow it in the run's list). */
  calls?: string;
  /** Why the job did not run its steps (skipped, refused input). */
  note?: string;
  durationMs: number;
}

export interface WorkflowRun {
  name: string;
  event: string;
  conclusion: 'success' | 'failure';
  jobs: JobRun[];
  /** Every value masked in the run's logs, outputs and summaries. */
  masks: string[];
}

export interface RunReporter {
  jobStarted?(job: JobRun): void;
  stepStarted?(job: JobRun, step: StepRun): void;
  line?(job: JobRun, step: StepRun, line: string): void;
  stepFinished?(job: JobRun, step: StepRun): void;
  jobFinished?(job: JobRun): void;
}

export interface RunOptions {
  /** The workflow file to run. */
  workflow: string;
  /** The repository the workflow belongs to, as the stand-in for actions/checkout checks it out. */
  repository: { root: string; name: string };
  /** Where the pack's actions and reusable workflows come from (this checkout). */
  packRoot: string;
  event:
    | { name: 'push'; ref?: string; payload?: Record<string, unknown> }
    | { name: 'workflow_dispatch'; ref?: string; inputs?: Record<string, string> };
  sha: string;
  actor?: string;
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
  standIns?: readonly StandIn[];
  /** GitHub's REST API as the steps reach it (a local stand-in in the lab), and the job token it accepts. */
  githubApi?: { url: string; token: string };
  /** The node binary for the actions' bundles (node24 on GitHub). */
  node?: string;
  /** Where job workspaces and temp files go; a new temporary directory by default. */
  runDir?: string;
  reporter?: RunReporter;
}

/** The state of one run, shared by the jobs of the workflow and of the workflows it calls. */
interface RunState {
  options: RunOptions;
  masks: RunMasks;
  jobs: JobRun[];
  github: Record<string, unknown>;
  runDir: string;
}

interface Level {
  workflow: WorkflowDefinition;
  inputs: Record<string, unknown>;
  secrets: Record<string, string>;
  /** The caller job's id and name, for a called workflow's jobs. */
  prefix?: { id: string; name: string };
}

/**
 * The run's masks: its secrets from the start, registered as the runner registers them (trimmed,
 * and each line of a multi-line value), then every value a step masked, for the rest of the run.
 */
class RunMasks {
  private readonly registry: StepOutput;
  constructor(secrets: string[]) {
    this.registry = new StepOutput({ secrets });
  }
  addSecret(value: string): void {
    this.registry.addSecret(value);
  }
  add(values: readonly string[]): void {
    for (const value of values) this.registry.masker.add(value);
  }
  get list(): string[] {
    return this.registry.masks;
  }
  redact(text: string): string {
    return this.registry.masker.mask(text);
  }
}

/** Resolve `uses:` of a reusable workflow: the pack's own at any ref, or `./` in the repository. */
function workflowResolver(options: RunOptions) {
  return (uses: string): { path: string; file: string } => {
    const pack = packWorkflowPath(uses);
    if (pack !== undefined) return { path: join(options.packRoot, pack), file: pack };
    if (uses.startsWith('./')) {
      return { path: join(options.repository.root, uses), file: uses.slice(2) };
    }
    throw new WorkflowError(`uses: ${uses}: only this pack's reusable workflows and ./ ones run here`);
  };
}

/** What a step's `uses:` names: a directory with action.yml, or a stand-in. */
type ActionTarget = { kind: 'action'; dir: string } | { kind: 'stand-in'; standIn: StandIn };

function resolveAction(state: RunState, file: string, step: StepDefinition, workspace: string): ActionTarget {
  const uses = step.uses ?? '';
  const pack = packActionPath(uses);
  if (pack !== undefined) return { kind: 'action', dir: join(state.options.packRoot, pack) };
  if (uses.startsWith('./')) return { kind: 'action', dir: join(workspace, uses) };
  const [name] = uses.split('@');
  const standIn = state.options.standIns?.find((s) => s.uses === name);
  if (standIn) return { kind: 'stand-in', standIn };
  throw new WorkflowError(
    `${file}:${step.line ?? '?'}: uses: ${uses} is neither this pack's action nor one with a local stand-in`,
  );
}

/** Refuse an unknown `uses:` before anything runs, in the workflow and the workflows it calls. */
async function checkUses(state: RunState, workflow: WorkflowDefinition, depth = 0): Promise<void> {
  for (const job of workflow.jobs) {
    if (job.uses !== undefined) {
      if (depth > 0) throw new WorkflowError(`${workflow.file}:${job.line}: nested reusable workflows`);
      const target = workflowResolver(state.options)(job.uses);
      await checkUses(state, await loadWorkflow(target.path, target.file, workflowResolver(state.options)), 1);
      continue;
    }
    for (const step of job.steps) {
      if (step.uses === undefined || step.uses.startsWith('./')) continue;
      if (step.uses.startsWith('docker://')) {
        throw new WorkflowError(
          `${workflow.file}:${step.line}: uses: ${step.uses}: docker:// actions are not supported`,
        );
      }
      const target = resolveAction(state, workflow.file, step, '');
      if (target.kind === 'action') actionMetadata(target.dir, workflow.file, step);
    }
  }
}

function branchMatches(pattern: string, branch: string): boolean {
  const regex = pattern
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${regex}$`).test(branch);
}

function dispatchInputs(workflow: WorkflowDefinition, given: Record<string, string>): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const name of Object.keys(given)) {
    if (!workflow.dispatchInputs.has(name)) {
      throw new WorkflowError(`${workflow.file}: workflow_dispatch has no input "${name}"`);
    }
  }
  for (const [name, definition] of workflow.dispatchInputs) {
    const fallback =
      definition.default === undefined
        ? undefined
        : asString(evaluateToken(definition.default, noScope(workflow.file)));
    const value = given[name] ?? fallback;
    if (value === undefined || (value === '' && definition.required)) {
      if (definition.required) throw new WorkflowError(`${workflow.file}: input "${name}" is required`);
      inputs[name] = definition.type === 'boolean' ? false : '';
      continue;
    }
    if (definition.type === 'choice' && !(definition.options ?? []).includes(value)) {
      throw new WorkflowError(
        `${workflow.file}: input "${name}" must be one of ${(definition.options ?? []).join(', ')}`,
      );
    }
    if (definition.type === 'boolean') {
      if (value !== 'true' && value !== 'false')
        throw new WorkflowError(`${workflow.file}: input "${name}" must be true or false`);
      inputs[name] = value === 'true';
    } else inputs[name] = value;
  }
  return inputs;
}

function noScope(file: string): Scope {
  return { file, contexts: {} };
}

/** A reusable workflow's inputs: typed as declared, defaults applied, required ones present. */
function callInputs(
  workflow: WorkflowDefinition,
  given: Record<string, unknown>,
  caller: string,
  github: Record<string, unknown>,
): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const name of Object.keys(given)) {
    if (!workflow.callInputs.has(name)) throw new WorkflowError(`${caller}: ${workflow.file} has no input "${name}"`);
  }
  for (const [name, definition] of workflow.callInputs) {
    let value = given[name];
    if (value === undefined) {
      if (definition.required) throw new WorkflowError(`${caller}: input "${name}" of ${workflow.file} is required`);
      value = defaultValue(workflow, definition, github);
    }
    inputs[name] = typed(value, definition, `${caller}: input "${name}" of ${workflow.file}`);
  }
  return inputs;
}

function defaultValue(
  workflow: WorkflowDefinition,
  definition: InputDefinition,
  github: Record<string, unknown>,
): unknown {
  if (definition.default !== undefined) {
    return evaluateToken(definition.default, { file: workflow.file, contexts: { github } });
  }
  return definition.type === 'boolean' ? false : definition.type === 'number' ? 0 : '';
}

function typed(value: unknown, definition: InputDefinition, what: string): unknown {
  switch (definition.type) {
    case 'number':
      if (typeof value !== 'number') throw new WorkflowError(`${what} must be a number, got ${JSON.stringify(value)}`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean')
        throw new WorkflowError(`${what} must be a boolean, got ${JSON.stringify(value)}`);
      return value;
    default:
      if (value !== null && typeof value === 'object') throw new WorkflowError(`${what} must be a string`);
      return asString(value);
  }
}

function ordered(workflow: WorkflowDefinition): JobDefinition[] {
  const done = new Set<string>();
  const out: JobDefinition[] = [];
  const pending = [...workflow.jobs];
  while (pending.length > 0) {
    const ready = pending.findIndex((job) => job.needs.every((n) => done.has(n)));
    if (ready < 0) throw new WorkflowError(`${workflow.file}: the jobs' needs form a cycle or name a missing job`);
    const [job] = pending.splice(ready, 1);
    if (job === undefined) break;
    out.push(job);
    done.add(job.id);
  }
  return out;
}

function ancestors(workflow: WorkflowDefinition, job: JobDefinition): string[] {
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const need of workflow.jobs.find((j) => j.id === id)?.needs ?? []) visit(need);
  };
  for (const need of job.needs) visit(need);
  return [...seen];
}

/** Run a workflow to the end; a refusal (WorkflowError) is thrown before anything runs. */
export async function runWorkflow(options: RunOptions): Promise<WorkflowRun> {
  const file = relative(options.repository.root, options.workflow) || options.workflow;
  const workflow = await loadWorkflow(options.workflow, file, workflowResolver(options));
  const event = options.event;
  if (!workflow.events.has(event.name)) {
    throw new WorkflowError(`${file}: not triggered by ${event.name} (on: ${[...workflow.events.keys()].join(', ')})`);
  }
  const ref = event.ref ?? 'refs/heads/main';
  const branch = ref.replace(/^refs\/heads\//, '');
  if (event.name === 'push') {
    const branches = workflow.events.get('push');
    const filter =
      branches && 'find' in branches ? (evaluateToken(branches, noScope(file)) as { branches?: string[] }) : {};
    if (filter.branches && !filter.branches.some((p) => branchMatches(p, branch))) {
      throw new WorkflowError(
        `${file}: a push to ${branch} does not trigger it (branches: ${filter.branches.join(', ')})`,
      );
    }
  }
  const inputs = event.name === 'workflow_dispatch' ? dispatchInputs(workflow, event.inputs ?? {}) : {};
  const runDir = options.runDir ?? mkdtempSync(join(tmpdir(), 'workflow-run-'));
  mkdirSync(runDir, { recursive: true });
  const runId = String(Date.now());
  const [owner = ''] = options.repository.name.split('/');
  const payload =
    event.name === 'workflow_dispatch'
      ? { inputs: event.inputs ?? {}, ref }
      : { ref, after: options.sha, head_commit: { id: options.sha }, ...(event.payload ?? {}) };
  const github: Record<string, unknown> = {
    event_name: event.name,
    event: payload,
    sha: options.sha,
    ref,
    ref_name: branch,
    ref_type: 'branch',
    repository: options.repository.name,
    repository_owner: owner,
    actor: options.actor ?? 'octocat',
    triggering_actor: options.actor ?? 'octocat',
    run_id: runId,
    run_number: '1',
    run_attempt: '1',
    server_url: 'https://github.com',
    api_url: options.githubApi?.url ?? 'https://api.github.com',
    graphql_url: `${options.githubApi?.url ?? 'https://api.github.com'}/graphql`,
    workflow: workflow.name,
    workflow_ref: `${options.repository.name}/${file}@${ref}`,
    head_ref: '',
    base_ref: '',
    token: options.githubApi?.token ?? '',
    action: '',
    job: '',
    workspace: '',
    retention_days: '90',
  };
  // The job token is a secret to the runner: masked in every line, like the run's secrets.
  const masks = new RunMasks([
    ...Object.values(options.secrets ?? {}),
    ...(options.githubApi?.token ? [options.githubApi.token] : []),
  ]);
  const state: RunState = { options, masks, jobs: [], github, runDir };
  await checkUses(state, workflow);
  const level: Level = { workflow, inputs, secrets: options.secrets ?? {} };
  await runJobs(state, level);
  const failed = state.jobs.some((j) => j.result === 'failure' || j.result === 'cancelled');
  return {
    name: workflow.name,
    event: event.name,
    conclusion: failed ? 'failure' : 'success',
    jobs: state.jobs,
    masks: masks.list,
  };
}

/** Run the jobs of one workflow in needs order; returns each job's result and outputs by id. */
async function runJobs(
  state: RunState,
  level: Level,
): Promise<Map<string, { result: Conclusion; outputs: Record<string, string> }>> {
  const results = new Map<string, { result: Conclusion; outputs: Record<string, string> }>();
  const { workflow } = level;
  for (const job of ordered(workflow)) {
    const needs: Record<string, unknown> = {};
    for (const need of job.needs) needs[need] = results.get(need);
    const above = ancestors(workflow, job).map((id) => results.get(id)?.result);
    const status: StatusFunctions = {
      success: () => above.every((r) => r === 'success'),
      failure: () => above.some((r) => r === 'failure'),
      cancelled: () => false,
    };
    const scope: Scope = {
      file: workflow.file,
      contexts: { github: state.github, needs, vars: state.options.vars ?? {}, inputs: level.inputs },
      status,
    };
    const display = jobName(job, scope, level);
    const run: JobRun = {
      id: level.prefix ? `${level.prefix.id}/${job.id}` : job.id,
      name: display,
      result: 'skipped',
      outputs: {},
      steps: [],
      summary: '',
      shown: {},
      durationMs: 0,
    };
    const started = Date.now();
    if (!evaluateCondition(job.if, scope, job.ifToken)) {
      run.note = `if: ${job.if} was false`;
      state.jobs.push(run);
      state.options.reporter?.jobFinished?.(run);
      results.set(job.id, { result: 'skipped', outputs: {} });
      continue;
    }
    if (job.uses !== undefined) {
      run.calls = job.uses;
      state.jobs.push(run);
      const called = await runCalledWorkflow(state, level, job, scope, run);
      run.result = called.result;
      run.outputs = called.outputs;
    } else {
      // `runs-on` may be an expression of the caller's inputs: evaluated, then checked, as the job starts.
      if (job.runsOn !== undefined) checkRunsOn(workflow.file, job.runsOn, evaluateToken(job.runsOn, scope));
      state.jobs.push(run);
      state.options.reporter?.jobStarted?.(run);
      await runSteps(state, level, job, needs, run);
    }
    run.durationMs = Date.now() - started;
    state.options.reporter?.jobFinished?.(run);
    results.set(job.id, { result: run.result, outputs: run.outputs });
  }
  return results;
}

function jobName(job: JobDefinition, scope: Scope, level: Level): string {
  let name = job.id;
  if (job.name !== undefined) {
    try {
      name = evaluateString(job.name, scope);
    } catch {
      name = job.id;
    }
  }
  return level.prefix ? `${level.prefix.name} / ${name}` : name;
}

async function runCalledWorkflow(
  state: RunState,
  level: Level,
  job: JobDefinition,
  scope: Scope,
  run: JobRun,
): Promise<{ result: Conclusion; outputs: Record<string, string> }> {
  const caller = `${level.workflow.file}:${job.line ?? '?'} (jobs.${job.id})`;
  const target = workflowResolver(state.options)(job.uses ?? '');
  const called = await loadWorkflow(target.path, target.file, workflowResolver(state.options));
  if (!called.events.has('workflow_call'))
    throw new WorkflowError(`${caller}: ${target.file} is not on: workflow_call`);
  const given = (job.with === undefined ? {} : evaluateToken(job.with, scope)) as Record<string, unknown>;
  const inputs = callInputs(called, given, caller, state.github);
  const secretScope: Scope = { ...scope, contexts: { ...scope.contexts, secrets: level.secrets } };
  const passed = job.inheritSecrets ? { ...level.secrets } : evaluateStringMap(job.secrets, secretScope);
  for (const name of Object.keys(passed)) {
    if (!job.inheritSecrets && !called.callSecrets.has(name)) {
      throw new WorkflowError(`${caller}: ${target.file} has no secret "${name}"`);
    }
  }
  const secrets: Record<string, string> = {};
  for (const [name, definition] of called.callSecrets) {
    if (passed[name] === undefined && definition.required) {
      throw new WorkflowError(`${caller}: secret "${name}" of ${target.file} is required`);
    }
    // An unpassed secret reaches the called workflow as an empty string.
    secrets[name] = passed[name] ?? '';
  }
  for (const value of Object.values(secrets)) state.masks.addSecret(value);
  const results = await runJobs(state, { workflow: called, inputs, secrets, prefix: { id: job.id, name: run.name } });
  const jobs: Record<string, unknown> = Object.fromEntries(results);
  const outputScope: Scope = {
    file: called.file,
    contexts: { github: state.github, inputs, vars: state.options.vars ?? {}, jobs, secrets },
  };
  const outputs: Record<string, string> = {};
  for (const [name, token] of called.callOutputs) outputs[name] = evaluateString(token, outputScope);
  const all = [...results.values()].map((r) => r.result);
  const result: Conclusion = all.some((r) => r === 'failure')
    ? 'failure'
    : all.every((r) => r === 'skipped')
      ? 'skipped'
      : 'success';
  return { result, outputs };
}

interface PostStep {
  step: StepDefinition;
  name: string;
  dir: string;
  condition: string;
  state: Record<string, string>;
  with: Record<string, string>;
}

async function runSteps(
  state: RunState,
  level: Level,
  job: JobDefinition,
  needs: Record<string, unknown>,
  run: JobRun,
): Promise<void> {
  const { workflow } = level;
  const base = join(state.runDir, run.id.replace(/\//g, '__'));
  const workspace = join(base, 'workspace');
  const temp = join(base, 'temp');
  mkdirSync(workspace, { recursive: true });
  mkdirSync(temp, { recursive: true });
  const github = { ...state.github, job: job.id, workspace };
  const runner = {
    os: 'Linux',
    arch: 'X64',
    name: 'lab',
    environment: 'self-hosted',
    temp,
    tool_cache: join(base, 'tool-cache'),
  };
  const vars = state.options.vars ?? {};
  let jobStatus: 'success' | 'failure' | 'cancelled' = 'success';
  const steps: Record<string, { outputs: Record<string, string>; outcome: Conclusion; conclusion: Conclusion }> = {};
  const contexts = () => ({
    github,
    needs,
    vars,
    inputs: level.inputs,
    secrets: level.secrets,
    steps,
    job: { status: jobStatus },
    runner,
    matrix: {},
    strategy: {},
    env: {} as Record<string, string>,
  });
  const status: StatusFunctions = {
    success: () => jobStatus === 'success',
    failure: () => jobStatus === 'failure',
    cancelled: () => jobStatus === 'cancelled',
  };
  const scope = (env: Record<string, string>): Scope => ({
    file: workflow.file,
    contexts: { ...contexts(), env },
    status,
  });
  const workflowEnv = evaluateStringMap(workflow.env, scope({}));
  let env = { ...workflowEnv, ...evaluateStringMap(job.env, scope(workflowEnv)) };
  const defaults = { ...workflow.defaults, ...job.defaults };
  let extraPath: string[] = [];
  const posts: PostStep[] = [];

  const execute = async (definition: StepDefinition, phase: 'main' | 'post', post?: PostStep): Promise<void> => {
    const stepScope = scope(env);
    const record: StepRun = {
      id: definition.id,
      name: post ? post.name : stepName(definition, stepScope),
      phase,
      outcome: 'skipped',
      conclusion: 'skipped',
      outputs: {},
      log: [],
      annotations: [],
      durationMs: 0,
    };
    run.steps.push(record);
    const condition = post ? post.condition : definition.if;
    if (!evaluateCondition(condition, stepScope, post ? undefined : definition.ifToken)) {
      if (phase === 'main' && definition.explicitId)
        steps[definition.id] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
      state.options.reporter?.stepFinished?.(run, record);
      return;
    }
    state.options.reporter?.stepStarted?.(run, record);
    const started = Date.now();
    const stepEnv = {
      ...env,
      ...evaluateStringMap(definition.env, { ...stepScope, contexts: { ...stepScope.contexts, env } }),
    };
    const secretScope: Scope = { ...stepScope, contexts: { ...stepScope.contexts, env: stepEnv } };
    const onLine = (line: string) => state.options.reporter?.line?.(run, record, line);
    let outcome: 'success' | 'failure' | 'cancelled' = 'failure';
    let result: {
      outputs: Record<string, string>;
      env: Record<string, string>;
      path: string[];
      summary: string;
      state?: Record<string, string>;
    } = {
      outputs: {},
      env: {},
      path: [],
      summary: '',
    };
    const processEnv = {
      ...stepEnv,
      PATH: [...extraPath, stepEnv.PATH ?? process.env.PATH ?? '/usr/bin:/bin'].join(':'),
    };
    const githubEnv = githubOptions(github);
    /** What a step run through the harness (an action, a script) left: its log, masks and files. */
    const absorb = (done: {
      outcome: 'success' | 'failure' | 'cancelled';
      log: string[];
      annotations: StepAnnotation[];
      masks: string[];
      outputs: Record<string, string>;
      env: Record<string, string>;
      path: string[];
      summary: string;
      state?: Record<string, string>;
    }) => {
      record.log.push(...done.log);
      record.annotations.push(...done.annotations);
      state.masks.add(done.masks);
      result = done;
      return done.outcome;
    };
    try {
      if (definition.run !== undefined) {
        const directory = definition.workingDirectory
          ? evaluateString(definition.workingDirectory, secretScope)
          : defaults.workingDirectory;
        const done = await runScript({
          script: evaluateString(definition.run, secretScope),
          cwd: directory ? resolve(workspace, directory) : workspace,
          workspace,
          env: processEnv,
          github: githubEnv,
          secrets: state.masks.list,
          onLine,
        });
        outcome = absorb(done);
      } else if (post !== undefined) {
        const done = await runActionStep({
          action: post.dir,
          with: post.with,
          env: processEnv,
          workspace,
          github: githubEnv,
          phase: 'post',
          state: post.state,
          secrets: state.masks.list,
          ...(state.options.node ? { node: state.options.node } : {}),
          onLine,
        });
        outcome = absorb(done);
      } else {
        const target = resolveAction(state, workflow.file, definition, workspace);
        const inputs = evaluateStringMap(definition.with, secretScope);
        if (target.kind === 'stand-in') {
          const done = await target.standIn.run({
            with: inputs,
            env: processEnv,
            workspace,
            repository: state.options.repository,
            sha: state.options.sha,
            log: (line) => {
              const shown = state.masks.redact(line);
              record.log.push(shown);
              onLine(shown);
            },
            mask: (value) => state.masks.add([value]),
          });
          outcome = done.outcome;
          if (done.failure) record.annotations.push({ level: 'error', message: state.masks.redact(done.failure) });
          result = { outputs: done.outputs ?? {}, env: done.env ?? {}, path: [], summary: '' };
        } else {
          const metadata = actionMetadata(target.dir, workflow.file, definition);
          const done = await runActionStep({
            action: target.dir,
            with: inputs,
            env: processEnv,
            workspace,
            github: githubEnv,
            phase: 'main',
            secrets: state.masks.list,
            ...(state.options.node ? { node: state.options.node } : {}),
            onLine,
          });
          outcome = absorb(done);
          if (metadata.runs.post) {
            posts.push({
              step: definition,
              name: `Post ${record.name}`,
              dir: target.dir,
              condition: metadata.runs.postIf ?? 'always()',
              state: done.state,
              with: inputs,
            });
          }
        }
      }
    } catch (error) {
      if (error instanceof WorkflowError) throw error;
      record.log.push(`error: ${state.masks.redact(error instanceof Error ? error.message : String(error))}`);
      outcome = 'failure';
    }
    record.outputs = { ...result.outputs };
    record.summary = result.summary;
    if (result.summary) run.summary += `${state.masks.redact(result.summary)}\n`;
    env = { ...env, ...result.env };
    extraPath = [...result.path.reverse(), ...extraPath];
    const continueOnError =
      definition.continueOnError !== undefined && continues(definition.continueOnError, stepScope);
    record.outcome = outcome;
    record.conclusion = outcome === 'failure' && continueOnError ? 'success' : outcome;
    record.durationMs = Date.now() - started;
    if (phase === 'main' && definition.explicitId) {
      steps[definition.id] = { outputs: record.outputs, outcome: record.outcome, conclusion: record.conclusion };
    }
    if (record.conclusion === 'failure' && jobStatus === 'success') jobStatus = 'failure';
    if (record.conclusion === 'cancelled') jobStatus = 'cancelled';
    state.options.reporter?.stepFinished?.(run, record);
  };

  for (const step of job.steps) await execute(step, 'main');
  for (const post of posts.reverse()) await execute(post.step, 'post', post);

  run.result = jobStatus;
  const outputScope = scope(env);
  for (const [name, value] of Object.entries(evaluateStringMap(job.outputs, outputScope))) {
    // GitHub drops a job output that holds a masked value (it could not cross to another job unmasked).
    if (state.masks.redact(value) !== value) {
      run.steps
        .at(-1)
        ?.annotations.push({ level: 'warning', message: `Skip output '${name}' since it may contain secret.` });
      run.outputs[name] = '';
    } else run.outputs[name] = value;
  }
  for (const [key, token] of Object.entries(job.shown)) {
    try {
      run.shown[key] = evaluateToken(token, { ...outputScope, contexts: { ...outputScope.contexts, secrets: {} } });
    } catch {
      run.shown[key] = '(not evaluated)';
    }
  }
}

function continues(token: TemplateToken, scope: Scope): boolean {
  if (isBoolean(token)) return token.value;
  const value = evaluateToken(token, scope);
  return value === true || value === 'true';
}

function stepName(step: StepDefinition, scope: Scope): string {
  if (step.name !== undefined) {
    try {
      return evaluateString(step.name, scope);
    } catch {
      // fall back to what GitHub shows for an unnamed step
    }
  }
  if (step.uses !== undefined) return `Run ${step.uses}`;
  const script = step.run && 'value' in step.run ? String((step.run as { value: unknown }).value) : '';
  return `Run ${script.split('\n')[0]?.trim() ?? ''}`;
}

function actionMetadata(dir: string, file: string, step: StepDefinition) {
  if (![join(dir, 'action.yml'), join(dir, 'action.yaml')].some((p) => existsSync(p))) {
    throw new WorkflowError(`${file}:${step.line ?? '?'}: uses: ${step.uses}: no action.yml in ${dir}`);
  }
  try {
    return readActionMetadata(dir);
  } catch (error) {
    throw new WorkflowError(
      `${file}:${step.line ?? '?'}: uses: ${step.uses}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function githubOptions(github: Record<string, unknown>): GithubContext {
  const s = (key: string) => String(github[key] ?? '');
  return {
    sha: s('sha'),
    ref: s('ref'),
    repository: s('repository'),
    actor: s('actor'),
    runId: s('run_id'),
    eventName: s('event_name'),
    event: github.event,
    serverUrl: s('server_url'),
    job: s('job'),
    workflow: s('workflow'),
    token: s('token'),
    apiUrl: s('api_url'),
  };
}
