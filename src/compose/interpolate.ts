import { ConfigurationError } from '../core/errors.js';
import { showValue } from '../core/names.js';

/**
 * Compose-style variables, applied to the scalars of an already parsed YAML document, never to
 * the raw text: a value that contains newlines, colons, `#`, `&anchors` or `$(...)` stays one
 * plain string and cannot add YAML structure, and no value is ever evaluated by a shell.
 *
 * The grammar is the docker CLI's (cli/compose/template): `${VAR}`, `$VAR`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `$$` for a literal `$`, and any other
 * `$` is an error. Defaults are literal text, as in the docker CLI. Unlike the docker CLI, an unset
 * variable without a default is an error rather than an empty string with a warning: a missing
 * variable in a deploy is a mistake, not an intent.
 */

export type Env = ReadonlyMap<string, string>;
export type YamlPath = readonly (string | number)[];

export interface Where {
  file: string;
  line?: number | undefined;
  /** Dotted path of the value in the document, e.g. `services.web.environment.DB_HOST`. */
  path?: string | undefined;
}

export interface Interpolated<T> {
  value: T;
  /** Variables referenced, each once, in order of first use. */
  variables: string[];
}

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/**
 * One problem at a place of the stack file (a value that cannot be substituted or cast, an undeclared
 * reference...): where it is and why, apart, so every problem of a file can be listed and annotated.
 */
export class StackProblem extends ConfigurationError {
  constructor(
    readonly where: Where,
    readonly reason: string,
    field: string,
  ) {
    super(`${locationText(where)}: ${reason}`, field);
  }
}

export function locationText(where: Where): string {
  const at = where.line === undefined ? where.file : `${where.file}:${where.line}`;
  return where.path === undefined ? at : `${at} (${where.path})`;
}

/** Substitute the variables in one string. */
export function interpolate(text: string, env: Env, where: Where): Interpolated<string> {
  const variables: string[] = [];
  const use = (name: string): void => {
    if (!variables.includes(name)) variables.push(name);
  };
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
      continue;
    }
    if (next === '{') {
      const close = text.indexOf('}', dollar + 2);
      if (close < 0) throw invalid(text, where, 'a "${" has no closing "}"');
      const inner = text.slice(dollar + 2, close);
      out += substituteBraced(inner, env, where, text, use);
      i = close + 1;
      continue;
    }
    const name = NAME.exec(text.slice(dollar + 1))?.[0];
    if (name === undefined) throw invalid(text, where, 'a "$" is not followed by a variable name');
    use(name);
    out += required(name, env, where);
    i = dollar + 1 + name.length;
  }
  return { value: out, variables };
}

function substituteBraced(inner: string, env: Env, where: Where, text: string, use: (name: string) => void): string {
  const name = NAME.exec(inner)?.[0];
  if (name === undefined) throw invalid(text, where, `"\${${inner}}" does not start with a variable name`);
  use(name);
  const rest = inner.slice(name.length);
  const value = env.get(name);
  if (rest === '') return required(name, env, where);
  const operator = /^(:-|-|:\?|\?)/.exec(rest)?.[0];
  if (operator === undefined) throw invalid(text, where, `"\${${inner}}" is not a supported substitution`);
  const argument = rest.slice(operator.length);
  const unset = value === undefined || (operator.startsWith(':') && value === '');
  if (!unset) return value as string;
  if (operator === ':-' || operator === '-') return argument;
  const reason = argument === '' ? (operator === ':?' ? 'it is not set or empty' : 'it is not set') : argument;
  throw new StackProblem(where, `required variable ${name}: ${reason}`, 'env');
}

function required(name: string, env: Env, where: Where): string {
  const value = env.get(name);
  if (value === undefined) {
    throw new StackProblem(
      where,
      `variable ${name} is not set; give it in the env input (${name}=...) or write \${${name}:-default} in the stack file`,
      'env',
    );
  }
  return value;
}

function invalid(text: string, where: Where, why: string): StackProblem {
  return new StackProblem(
    where,
    `invalid variable syntax in ${showValue(text)}: ${why}; write "$$" for a literal "$"`,
    'stack-file',
  );
}

export interface TreeOptions {
  file: string;
  /** The source line of a value, for messages. */
  lineOf?: (path: YamlPath) => number | undefined;
  /**
   * Called for each string that had a substitution, with its path; returns the value to store
   * (the docker CLI casts e.g. `deploy.replicas: ${N}` to an integer). Throw to refuse.
   */
  cast?: (path: YamlPath, value: string, where: Where) => unknown;
  /**
   * Called for each value that cannot be substituted or cast (the value is then kept as written),
   * so every such value of a file is reported at once. Without it the first one is thrown.
   */
  onProblem?: (problem: StackProblem) => void;
}

/**
 * Substitute variables in every string value of a plain data tree (objects, arrays, scalars as
 * produced by YAML's toJS). Keys are left alone, as the docker CLI does. Returns a new tree.
 */
export function interpolateTree(tree: unknown, env: Env, options: TreeOptions): Interpolated<unknown> {
  const variables: string[] = [];
  const walk = (value: unknown, path: (string | number)[]): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('$')) return value;
      const where: Where = { file: options.file, line: options.lineOf?.(path), path: path.join('.') };
      try {
        const result = interpolate(value, env, where);
        for (const name of result.variables) if (!variables.includes(name)) variables.push(name);
        if (result.variables.length > 0 && options.cast !== undefined) return options.cast(path, result.value, where);
        return result.value;
      } catch (caught: unknown) {
        if (!(caught instanceof StackProblem) || options.onProblem === undefined) throw caught;
        options.onProblem(caught);
        return value;
      }
    }
    if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, index]));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        // defineProperty: a `__proto__` key stays data instead of replacing the prototype.
        Object.defineProperty(out, key, {
          value: walk(item, [...path, key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return value;
  };
  return { value: walk(tree, []), variables };
}
