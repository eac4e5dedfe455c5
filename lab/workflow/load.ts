/**
 * A workflow file as the runner runs it: GitHub's own parser (@actions/workflow-parser) reads and
 * validates it (schema, expressions and their contexts, callers against the reusable workflows
 * they call); the runner then walks the parsed tokens, refusing — by key, file and line — whatever
 * it does not implement, so nothing is skipped silently.
 */
import { readFileSync } from 'node:fs';
import {
  convertWorkflowTemplate,
  isBasicExpression,
  isBoolean,
  isMapping,
  isSequence,
  isString,
  NoOperationTraceWriter,
  parseWorkflow,
} from '@actions/workflow-parser';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { convertToIfCondition } from '@actions/workflow-parser/model/converter/if-condition';
import type { MappingToken } from '@actions/workflow-parser/templates/tokens/mapping-token';
import type { FileProvider } from '@actions/workflow-parser/workflows/file-provider';
import type { FileReference } from '@actions/workflow-parser/workflows/file-reference';
import { WorkflowError, where } from './errors.js';

/** `run:` defaults: only bash runs here (ubuntu-latest's default shell). */
export interface RunDefaults {
  shell?: string;
  workingDirectory?: string;
}

export interface InputDefinition {
  type: string;
  required: boolean;
  default?: TemplateToken;
  options?: string[];
}

export interface StepDefinition {
  /** The step's id, or `__<n>` as GitHub names an unnamed step. */
  id: string;
  explicitId: boolean;
  name?: TemplateToken;
  /** The condition with its status function (`success() && (…)` added when it has none). */
  if: string;
  ifToken?: TemplateToken;
  uses?: string;
  run?: TemplateToken;
  with?: TemplateToken;
  env?: TemplateToken;
  continueOnError?: TemplateToken;
  shell?: string;
  workingDirectory?: TemplateToken;
  line: number | undefined;
}

export interface JobDefinition {
  id: string;
  name?: TemplateToken;
  needs: string[];
  if: string;
  ifToken?: TemplateToken;
  env?: TemplateToken;
  defaults: RunDefaults;
  outputs?: TemplateToken;
  steps: StepDefinition[];
  /** A caller job: `uses:` a reusable workflow, with `with:` and `secrets:`. */
  uses?: string;
  with?: TemplateToken;
  secrets?: TemplateToken;
  inheritSecrets: boolean;
  /** The runner labels asked for: a label, a list, or an expression giving either. */
  runsOn?: TemplateToken;
  /** Accepted and shown, not enforced: concurrency, permissions, environment, runs-on. */
  shown: Record<string, TemplateToken>;
  line: number | undefined;
}

export interface WorkflowDefinition {
  /** The file as errors name it. */
  file: string;
  name: string;
  events: Map<string, TemplateToken | undefined>;
  env?: TemplateToken;
  defaults: RunDefaults;
  jobs: JobDefinition[];
  shown: Record<string, TemplateToken>;
  callInputs: Map<string, InputDefinition>;
  callSecrets: Map<string, { required: boolean }>;
  callOutputs: Map<string, TemplateToken>;
  dispatchInputs: Map<string, InputDefinition>;
}

/** Resolves a reusable workflow `uses:` to a file on this machine (throws for anything else). */
export type WorkflowResolver = (uses: string) => { path: string; file: string };

const WORKFLOW_KEYS = new Set(['name', 'run-name', 'on', 'env', 'defaults', 'jobs', 'permissions', 'concurrency']);
const SHOWN_WORKFLOW_KEYS = new Set(['run-name', 'permissions', 'concurrency']);
const JOB_KEYS = new Set([
  'name',
  'needs',
  'if',
  'runs-on',
  'env',
  'defaults',
  'outputs',
  'steps',
  'concurrency',
  'permissions',
  'environment',
  'uses',
  'with',
  'secrets',
]);
const SHOWN_JOB_KEYS = new Set(['runs-on', 'concurrency', 'permissions', 'environment']);
const STEP_KEYS = new Set([
  'id',
  'name',
  'if',
  'uses',
  'run',
  'with',
  'env',
  'continue-on-error',
  'shell',
  'working-directory',
]);
const EVENTS = new Set(['push', 'workflow_dispatch', 'workflow_call']);

function refuse(file: string, token: TemplateToken | undefined, what: string): never {
  throw new WorkflowError(`${where(file, token)}: ${what} is not supported by the local workflow runner`);
}

/** The labels of this machine as a runner: `ubuntu-*` (what GitHub-hosted jobs run on) or a self-hosted Linux x64 runner. */
const SELF_HOSTED_LABELS = new Set(['self-hosted', 'linux', 'x64']);

/** The labels of a literal `runs-on`: one label or a list of them (undefined for anything else). */
function labelsOf(token: TemplateToken): unknown {
  if (isString(token)) return token.value;
  if (isSequence(token)) return [...token].map((item) => (isString(item) ? item.value : undefined));
  return undefined;
}

/**
 * The steps run on this Linux machine: a job may ask for `ubuntu-*`, or for a self-hosted runner
 * by labels this machine has (`self-hosted`, `linux`, `x64`, in any case). Anything else is
 * refused, naming what was asked for.
 */
export function checkRunsOn(file: string, token: TemplateToken | undefined, labels: unknown): void {
  const list = typeof labels === 'string' ? [labels] : Array.isArray(labels) ? (labels as unknown[]) : [];
  const runsHere =
    list.length > 0 &&
    list.every((label) => typeof label === 'string') &&
    ((list.length === 1 && /^ubuntu-/.test(list[0] as string)) ||
      list.every((label) => SELF_HOSTED_LABELS.has((label as string).toLowerCase())));
  if (!runsHere) {
    const asked = typeof labels === 'string' ? labels : (JSON.stringify(labels) ?? 'nothing');
    refuse(file, token, `runs-on: ${asked}`);
  }
}

function mapping(file: string, token: TemplateToken, what: string): MappingToken {
  if (!isMapping(token)) throw new WorkflowError(`${where(file, token)}: ${what} must be a mapping`);
  return token;
}

function literal(file: string, token: TemplateToken, what: string): string {
  if (isBasicExpression(token)) refuse(file, token, `an expression in ${what}`);
  if (!isString(token)) throw new WorkflowError(`${where(file, token)}: ${what} must be a string`);
  return token.value;
}

function entries(token: MappingToken): [string, TemplateToken, TemplateToken][] {
  const out: [string, TemplateToken, TemplateToken][] = [];
  for (const pair of token) out.push([isString(pair.key) ? pair.key.value : String(pair.key), pair.value, pair.key]);
  return out;
}

function runDefaults(file: string, token: TemplateToken | undefined): RunDefaults {
  if (token === undefined) return {};
  const out: RunDefaults = {};
  for (const [key, value, keyToken] of entries(mapping(file, token, 'defaults'))) {
    if (key !== 'run') refuse(file, keyToken, `defaults.${key}`);
    for (const [runKey, runValue, runKeyToken] of entries(mapping(file, value, 'defaults.run'))) {
      if (runKey === 'shell') out.shell = checkShell(file, runValue);
      else if (runKey === 'working-directory') out.workingDirectory = literal(file, runValue, 'working-directory');
      else refuse(file, runKeyToken, `defaults.run.${runKey}`);
    }
  }
  return out;
}

function checkShell(file: string, token: TemplateToken): string {
  const shell = literal(file, token, 'shell');
  if (shell !== 'bash') refuse(file, token, `shell: ${shell} (only bash runs here)`);
  return shell;
}

function condition(file: string, token: TemplateToken | undefined, parsed: ParsedFile): string {
  if (token === undefined) return 'success()';
  const converted = convertToIfCondition(parsed.context, token);
  if (converted === undefined) throw new WorkflowError(`${where(file, token)}: invalid if: condition`);
  return converted.expression;
}

function inputDefinitions(file: string, token: TemplateToken | undefined): Map<string, InputDefinition> {
  const out = new Map<string, InputDefinition>();
  if (token === undefined) return out;
  for (const [name, value] of entries(mapping(file, token, 'inputs'))) {
    const definition: InputDefinition = { type: 'string', required: false };
    for (const [key, v] of entries(mapping(file, value, `input ${name}`))) {
      if (key === 'type') definition.type = literal(file, v, 'type');
      else if (key === 'required') definition.required = isBoolean(v) && v.value;
      else if (key === 'default') definition.default = v;
      else if (key === 'options' && isSequence(v)) {
        definition.options = [];
        for (const option of v) definition.options.push(literal(file, option, 'options'));
      }
    }
    if (!['string', 'number', 'boolean', 'choice'].includes(definition.type)) {
      refuse(file, value, `input type ${definition.type}`);
    }
    out.set(name, definition);
  }
  return out;
}

function stepDefinition(file: string, token: TemplateToken, index: number, parsed: ParsedFile): StepDefinition {
  const step: StepDefinition = { id: `__${index}`, explicitId: false, if: 'success()', line: token.line };
  let ifToken: TemplateToken | undefined;
  for (const [key, value, keyToken] of entries(mapping(file, token, 'a step'))) {
    if (!STEP_KEYS.has(key)) refuse(file, keyToken, `steps[*].${key}`);
    switch (key) {
      case 'id':
        step.id = literal(file, value, 'id');
        step.explicitId = true;
        break;
      case 'name':
        step.name = value;
        break;
      case 'if':
        ifToken = value;
        break;
      case 'uses':
        step.uses = literal(file, value, 'uses');
        break;
      case 'run':
        step.run = value;
        break;
      case 'with':
        step.with = value;
        break;
      case 'env':
        step.env = value;
        break;
      case 'continue-on-error':
        step.continueOnError = value;
        break;
      case 'shell':
        step.shell = checkShell(file, value);
        break;
      case 'working-directory':
        step.workingDirectory = value;
        break;
    }
  }
  step.if = condition(file, ifToken, parsed);
  if (ifToken) step.ifToken = ifToken;
  if ((step.uses === undefined) === (step.run === undefined)) {
    throw new WorkflowError(`${where(file, token)}: a step needs exactly one of uses: and run:`);
  }
  return step;
}

function jobDefinition(file: string, id: string, token: TemplateToken, parsed: ParsedFile): JobDefinition {
  const job: JobDefinition = {
    id,
    needs: [],
    if: 'success()',
    defaults: {},
    steps: [],
    inheritSecrets: false,
    shown: {},
    line: token.line,
  };
  let ifToken: TemplateToken | undefined;
  for (const [key, value, keyToken] of entries(mapping(file, token, `job ${id}`))) {
    if (key === 'strategy') {
      const matrix = isMapping(value) ? entries(value).find(([name]) => name === 'matrix') : undefined;
      refuse(file, matrix?.[2] ?? keyToken, matrix ? 'strategy.matrix' : 'strategy');
    }
    if (!JOB_KEYS.has(key)) refuse(file, keyToken, `jobs.${id}.${key}`);
    if (SHOWN_JOB_KEYS.has(key)) job.shown[key] = value;
    switch (key) {
      case 'name':
        job.name = value;
        break;
      case 'needs':
        if (isSequence(value)) for (const need of value) job.needs.push(literal(file, need, 'needs'));
        else job.needs.push(literal(file, value, 'needs'));
        break;
      case 'if':
        ifToken = value;
        break;
      case 'runs-on':
        // A literal label is checked now; an expression (a caller's `runs-on` input) when the job
        // starts, where its inputs are known (run.ts, runnerLabels).
        if (!isBasicExpression(value)) checkRunsOn(file, value, labelsOf(value));
        job.runsOn = value;
        break;
      case 'env':
        job.env = value;
        break;
      case 'defaults':
        job.defaults = runDefaults(file, value);
        break;
      case 'outputs':
        job.outputs = value;
        break;
      case 'steps':
        if (!isSequence(value)) throw new WorkflowError(`${where(file, value)}: steps must be a list`);
        {
          let index = 0;
          for (const step of value) job.steps.push(stepDefinition(file, step, index++, parsed));
        }
        break;
      case 'uses':
        job.uses = literal(file, value, 'uses');
        break;
      case 'with':
        job.with = value;
        break;
      case 'secrets':
        if (isString(value) && value.value === 'inherit') job.inheritSecrets = true;
        else job.secrets = value;
        break;
    }
  }
  job.if = condition(file, ifToken, parsed);
  if (ifToken) job.ifToken = ifToken;
  return job;
}

interface ParsedFile {
  root: MappingToken;
  context: ReturnType<typeof parseWorkflow>['context'];
}

/**
 * Parse and check a workflow with GitHub's parser; reusable workflows it calls are read through
 * `resolve` (so a caller is checked against the inputs and secrets the called file declares).
 */
export async function loadWorkflow(path: string, file: string, resolve: WorkflowResolver): Promise<WorkflowDefinition> {
  const content = readFileSync(path, 'utf8');
  const result = parseWorkflow({ name: file, content }, new NoOperationTraceWriter());
  const provider: FileProvider = {
    async getFileContent(ref: FileReference) {
      const uses = 'repository' in ref ? `${ref.owner}/${ref.repository}/${ref.path}@${ref.version}` : `./${ref.path}`;
      const target = resolve(uses);
      return { name: target.file, content: readFileSync(target.path, 'utf8') };
    },
  };
  const errors = result.context.errors.getErrors().map((e) => e.message);
  if (result.value !== undefined && errors.length === 0) {
    const template = await convertWorkflowTemplate(result.context, result.value, provider, {
      fetchReusableWorkflowDepth: 1,
    });
    errors.push(...(template.errors ?? []).map((e) => e.Message));
  }
  if (errors.length > 0 || result.value === undefined) {
    throw new WorkflowError(`${file}: GitHub's workflow parser reports:\n  ${[...new Set(errors)].join('\n  ')}`);
  }
  const parsed: ParsedFile = { root: mapping(file, result.value, 'a workflow'), context: result.context };
  const workflow: WorkflowDefinition = {
    file,
    name: file,
    events: new Map(),
    defaults: {},
    jobs: [],
    shown: {},
    callInputs: new Map(),
    callSecrets: new Map(),
    callOutputs: new Map(),
    dispatchInputs: new Map(),
  };
  for (const [key, value, keyToken] of entries(parsed.root)) {
    if (!WORKFLOW_KEYS.has(key)) refuse(file, keyToken, key);
    if (SHOWN_WORKFLOW_KEYS.has(key)) workflow.shown[key] = value;
    switch (key) {
      case 'name':
        workflow.name = literal(file, value, 'name');
        break;
      case 'on':
        readEvents(file, value, workflow);
        break;
      case 'env':
        workflow.env = value;
        break;
      case 'defaults':
        workflow.defaults = runDefaults(file, value);
        break;
      case 'jobs':
        for (const [id, job] of entries(mapping(file, value, 'jobs'))) {
          workflow.jobs.push(jobDefinition(file, id, job, parsed));
        }
        break;
    }
  }
  return workflow;
}

function readEvents(file: string, token: TemplateToken, workflow: WorkflowDefinition): void {
  const events: [string, TemplateToken | undefined, TemplateToken][] = [];
  if (isString(token)) events.push([token.value, undefined, token]);
  else if (isSequence(token)) for (const e of token) events.push([literal(file, e, 'on'), undefined, e]);
  else for (const [name, value, keyToken] of entries(mapping(file, token, 'on'))) events.push([name, value, keyToken]);
  for (const [name, value, keyToken] of events) {
    if (!EVENTS.has(name)) refuse(file, keyToken, `on: ${name}`);
    const config = value !== undefined && isMapping(value) ? value : undefined;
    workflow.events.set(name, config);
    if (config === undefined) continue;
    if (name === 'push') {
      for (const [filter, , filterToken] of entries(config)) {
        if (filter !== 'branches' && filter !== 'tags') refuse(file, filterToken, `on.push.${filter}`);
      }
    }
    if (name === 'workflow_dispatch') workflow.dispatchInputs = inputDefinitions(file, config.find('inputs'));
    if (name === 'workflow_call') {
      workflow.callInputs = inputDefinitions(file, config.find('inputs'));
      const secrets = config.find('secrets');
      if (secrets !== undefined) {
        for (const [secret, definition] of entries(mapping(file, secrets, 'secrets'))) {
          const required = isMapping(definition) ? definition.find('required') : undefined;
          workflow.callSecrets.set(secret, {
            required: required !== undefined && isBoolean(required) && required.value,
          });
        }
      }
      const outputs = config.find('outputs');
      if (outputs !== undefined) {
        for (const [output, definition] of entries(mapping(file, outputs, 'outputs'))) {
          const value = mapping(file, definition, `output ${output}`).find('value');
          if (value === undefined) throw new WorkflowError(`${where(file, definition)}: output ${output} has no value`);
          workflow.callOutputs.set(output, value);
        }
      }
    }
  }
}
