import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { packActionPath } from '../../../lab/workflow/pack-uses.js';

/** The repository root (this file is test/unit/workflows/workflow-files.ts). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function ymlIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
    .map((f) => join(dir, f));
}

/** The pack's own workflows (.github/workflows). */
export function packWorkflows(): string[] {
  return ymlIn(join(ROOT, '.github/workflows'));
}

/** The example clients' workflows (examples/<example>/.github/workflows). */
export function exampleWorkflows(): string[] {
  const examples = join(ROOT, 'examples');
  return readdirSync(examples, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => ymlIn(join(examples, d.name, '.github/workflows')));
}

export function rel(path: string): string {
  return relative(ROOT, path);
}

export interface ParsedWorkflow {
  errors: string[];
  /** The job ids the parser converted (empty when conversion failed). */
  jobs: string[];
}

/**
 * GitHub's own parser (@actions/workflow-parser): schema, expressions and their contexts, and each
 * caller against the reusable workflow it calls. The package imports its JSON schema without an
 * import attribute, which Node's ESM loader (and so the test runner's) refuses; it runs in a child
 * process under tsx, whose loader accepts it, once for a whole batch of files.
 */
export function parseWithGitHub(files: readonly { name: string; content: string }[]): ParsedWorkflow[] {
  const script = fileURLToPath(new URL('./github-parser.ts', import.meta.url));
  const result = spawnSync(process.execPath, ['--import', 'tsx', script], {
    input: JSON.stringify(files),
    encoding: 'utf8',
    cwd: ROOT,
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`the workflow parser failed: ${result.stderr || String(result.error)}`);
  return JSON.parse(result.stdout) as ParsedWorkflow[];
}

/** A workflow as plain data, for asserting the wiring. */
export interface WorkflowDoc {
  on: Record<string, unknown>;
  jobs: Record<string, JobDoc>;
  [key: string]: unknown;
}

export interface JobDoc {
  needs?: string | string[];
  if?: string;
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  environment?: { name: string; url?: string; deployment?: boolean };
  outputs?: Record<string, string>;
  steps?: StepDoc[];
  [key: string]: unknown;
}

export interface StepDoc {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string | number | boolean>;
  env?: Record<string, string>;
  'continue-on-error'?: boolean;
}

export function loadWorkflow(path: string): WorkflowDoc {
  return parse(readFileSync(path, 'utf8')) as WorkflowDoc;
}

/**
 * The metadata file of the pack's action a `uses:` names, relative to the repository root:
 * `<pack>/actions/<name>@<ref>` and `./actions/<name>` → `actions/<name>/action.yml`; `<pack>@<ref>`
 * and `./` → the root `action.yml` (swarm-deploy). Anything else (actions/checkout, aws-actions/…)
 * is not ours: undefined.
 */
export function packActionFile(uses: string): string | undefined {
  const local = /^\.\/(actions\/[a-z0-9-]+)$/.exec(uses);
  const dir = packActionPath(uses) ?? (local ? local[1] : uses === './' ? '' : undefined);
  if (dir === undefined) return undefined;
  return dir === '' ? 'action.yml' : `${dir}/action.yml`;
}

/** The action's name as the pipeline knows it (the root action is swarm-deploy). */
export function packActionName(uses: string): string | undefined {
  const file = packActionFile(uses);
  if (file === undefined) return undefined;
  return file === 'action.yml' ? 'swarm-deploy' : file.split('/')[1];
}
