import { errorMessage } from '../core/errors.js';
import { showValue } from '../core/names.js';
import type { YamlPath } from './interpolate.js';
import { isRecord } from './policy.js';

/**
 * The files a stack file refers to (`env_file`, `configs.<key>.file`) are read on the runner, from
 * the repository, never on a manager: the rendered stack holds their content and no path. Reading
 * is the caller's (see StackFileReader); this module only turns what was read into values, and
 * every problem into a problem at the line that names the file.
 */

/**
 * Reads a file the stack refers to, by the path written in the stack (relative to the stack
 * file's directory): its bytes, or undefined when there is no such file. Throws (with a message
 * naming the path) when the path is refused: absolute, leading out of the repository, a NUL byte.
 */
export type StackFileReader = (path: string) => Uint8Array | undefined;

/** Where a problem found in a referenced file is reported. */
export type Report = (path: YamlPath, message: string) => void;

/** A key of an env file, as docker/cli's ParseEnvFile accepts it. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * One file referenced at `at`: its text, or undefined when it is missing and not required, or when
 * a problem was reported (refused path, missing, not UTF-8).
 */
export function readReferenced(
  reader: StackFileReader | undefined,
  what: string,
  path: string,
  place: { at: YamlPath; report: Report; required?: boolean },
): string | undefined {
  const { at, report } = place;
  if (reader === undefined) {
    report(at, `${what} ${showValue(path)} cannot be read: this deploy has no repository to read it from`);
    return undefined;
  }
  let bytes: Uint8Array | undefined;
  try {
    bytes = reader(path);
  } catch (caught: unknown) {
    report(at, `${what}: ${errorMessage(caught)}`);
    return undefined;
  }
  if (bytes === undefined) {
    if (place.required !== false)
      report(at, `${what} ${showValue(path)} does not exist in the repository (paths are relative to the stack file)`);
    return undefined;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    report(at, `${what} ${showValue(path)} is not valid UTF-8 text`);
    return undefined;
  }
}

/**
 * An env file read as docker/cli's `opts.ParseEnvFile` reads it: blank lines and lines starting
 * with `#` (after leading whitespace) are skipped, each other line is `KEY=VALUE` with the value
 * taken literally (no quotes, no variables). A line without `=` would take the value from the
 * environment of whatever machine reads it: refused, as is a key that is not a variable name.
 */
export function parseEnvFile(text: string): { values: [string, string][]; problems: string[] } {
  const values: [string, string][] = [];
  const problems: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line.trimEnd() : line.slice(0, eq);
    if (eq < 0) {
      problems.push(
        `line ${index + 1}: ${showValue(key)} has no "=": a variable without a value would be read from the environment of the machine that deploys; write ${key}=value`,
      );
    } else if (!ENV_NAME.test(key)) {
      problems.push(`line ${index + 1}: ${showValue(key)} is not a variable name (letters, digits, '_', '.', '-')`);
    } else {
      values.push([key, line.slice(eq + 1)]);
    }
  });
  return { values, problems };
}

/** The env files of a service (`env_file`: a path, a list of paths, or `{path, required}` items), in order. */
function envFileEntries(
  value: unknown,
  at: YamlPath,
  report: Report,
): { path: string; required: boolean; at: YamlPath }[] {
  if (typeof value === 'string') return [{ path: value, required: true, at }];
  if (!Array.isArray(value)) {
    report(at, 'env_file must be a path or a list of paths');
    return [];
  }
  const entries: { path: string; required: boolean; at: YamlPath }[] = [];
  value.forEach((item: unknown, index) => {
    const itemAt = [...at, index];
    if (typeof item === 'string') entries.push({ path: item, required: true, at: itemAt });
    else if (isRecord(item) && typeof item.path === 'string') {
      if (item.required !== undefined && item.required !== null && typeof item.required !== 'boolean')
        report([...itemAt, 'required'], 'env_file "required" must be true or false');
      else entries.push({ path: item.path, required: item.required !== false, at: [...itemAt, 'path'] });
    } else report(itemAt, 'an env_file entry must be a path or a mapping with a "path"');
  });
  return entries;
}

/**
 * The variables a service's env files give, later files overriding earlier ones; every problem is
 * reported at the line of the `env_file` entry, naming the file and its line.
 */
export function readEnvFiles(
  reader: StackFileReader | undefined,
  service: { name: string; envFile: unknown; at: YamlPath },
  report: Report,
): Map<string, string> {
  const values = new Map<string, string>();
  for (const entry of envFileEntries(service.envFile, service.at, report)) {
    const what = `service "${service.name}": env_file`;
    const text = readReferenced(reader, what, entry.path, { at: entry.at, report, required: entry.required });
    if (text === undefined) continue;
    const parsed = parseEnvFile(text);
    for (const problem of parsed.problems) report(entry.at, `${what} ${showValue(entry.path)}, ${problem}`);
    for (const [key, value] of parsed.values) values.set(key, value);
  }
  return values;
}

/**
 * A service's `environment` with its env files' variables under it (compose: the service's own
 * `environment` wins). A list stays a list and a mapping a mapping; no `environment` becomes one.
 */
export function mergeEnvironment(environment: unknown, fromFiles: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(environment)) {
    const own = new Set(environment.map((entry) => String(entry).split('=')[0]));
    const inherited = [...fromFiles].filter(([key]) => !own.has(key)).map(([key, value]) => `${key}=${value}`);
    return [...inherited, ...environment];
  }
  const merged: Record<string, unknown> = {};
  const put = (key: string, value: unknown): void => {
    Object.defineProperty(merged, key, { value, enumerable: true, writable: true, configurable: true });
  };
  for (const [key, value] of fromFiles) put(key, value);
  if (isRecord(environment)) for (const [key, value] of Object.entries(environment)) put(key, value);
  return merged;
}
