/**
 * An action's `action.yml` as the runner reads it, and the `INPUT_*` variables the runner gives a
 * step: every declared input is present (its default, or an empty string), `with:` values win,
 * and `with:` keys the action does not declare are passed too, with the runner's warning.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../lab.js';

export interface ActionInput {
  description: string;
  required: boolean;
  /** Undefined when action.yml gives no default (the runner then passes an empty string). */
  default: string | undefined;
}

export interface ActionMetadata {
  /** Absolute directory holding action.yml. */
  dir: string;
  name: string;
  inputs: Record<string, ActionInput>;
  outputs: string[];
  runs: { using: string; main: string; post?: string; postIf?: string };
}

export function actionDirectory(action: string): string {
  return isAbsolute(action) ? action : resolve(REPO_ROOT, action);
}

/**
 * Reads action.yml with YAML's failsafe schema: every scalar stays the text written in the file,
 * as the runner turns a default into the string it passes (`default: '0'` arrives as "0").
 */
export function readActionMetadata(action: string): ActionMetadata {
  const dir = actionDirectory(action);
  let text: string;
  try {
    text = readFileSync(join(dir, 'action.yml'), 'utf8');
  } catch {
    text = readFileSync(join(dir, 'action.yaml'), 'utf8');
  }
  const doc = parse(text, { schema: 'failsafe' }) as {
    name?: string;
    inputs?: Record<string, { description?: string; required?: string; default?: string } | null>;
    outputs?: Record<string, unknown>;
    runs?: { using?: string; main?: string; post?: string; 'post-if'?: string };
  };
  const runs = doc.runs ?? {};
  if (!runs.using || !runs.main) throw new Error(`${dir}/action.yml: runs.using and runs.main are required`);
  if (!/^node\d+$/.test(runs.using))
    throw new Error(`${dir}/action.yml: only JavaScript actions are run here, not ${runs.using}`);
  const inputs: Record<string, ActionInput> = {};
  for (const [name, spec] of Object.entries(doc.inputs ?? {})) {
    if (typeof spec?.default === 'string' && spec.default.includes('${{') && !GITHUB_DEFAULT.test(spec.default)) {
      throw new Error(
        `${dir}/action.yml: the default of input "${name}" is an expression other than \${{ github.<name> }}, which this harness does not evaluate`,
      );
    }
    inputs[name] = {
      description: spec?.description ?? '',
      required: spec?.required === 'true',
      default: spec?.default,
    };
  }
  return {
    dir,
    name: doc.name ?? dir,
    inputs,
    outputs: Object.keys(doc.outputs ?? {}),
    runs: {
      using: runs.using,
      main: runs.main,
      ...(runs.post ? { post: runs.post } : {}),
      ...(runs['post-if'] ? { postIf: runs['post-if'] } : {}),
    },
  };
}

/** The one kind of expression an input default may be here: a value of the `github` context, as `github.token`. */
const GITHUB_DEFAULT = /^\$\{\{\s*github\.([a-z_]+)\s*\}\}$/;

/** The runner's variable name for an input: `INPUT_` + upper case, spaces to `_`, hyphens kept. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

export interface RenderedInputs {
  /** Input name → value, every declared input included. */
  values: Record<string, string>;
  /** `INPUT_*` → value. */
  env: Record<string, string>;
  /** What the runner warns about before the step runs. */
  warnings: string[];
}

/**
 * The runner's ActionRunner: `with:` values first, then each declared input it lacks gets its
 * default (or ""); names compare case-insensitively. Required inputs are not enforced by the
 * runner: an action must check them itself.
 */
export function renderInputs(
  metadata: ActionMetadata,
  given: Record<string, string> = {},
  github: Readonly<Record<string, string>> = {},
): RenderedInputs {
  const values: Record<string, string> = {};
  const lower = new Map<string, string>();
  for (const [name, value] of Object.entries(given)) {
    values[name] = value;
    lower.set(name.toLowerCase(), name);
  }
  const declared = Object.keys(metadata.inputs);
  for (const name of declared) {
    if (lower.has(name.toLowerCase())) continue;
    const fallback = metadata.inputs[name]?.default ?? '';
    // The runner evaluates a default's expression in the step's contexts: `github.<name>` here.
    const expression = GITHUB_DEFAULT.exec(fallback);
    values[name] = expression ? (github[expression[1] as string] ?? '') : fallback;
  }
  const declaredLower = new Set(declared.map((n) => n.toLowerCase()));
  const unexpected = Object.keys(given).filter((name) => !declaredLower.has(name.toLowerCase()));
  const warnings =
    unexpected.length === 0
      ? []
      : [`Unexpected input(s) '${unexpected.join("', '")}', valid inputs are ['${declared.join("', '")}']`];
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) env[inputEnvName(name)] = value;
  return { values, env, warnings };
}
