import { ConfigurationError } from './errors.js';
import { parseDuration } from './duration.js';

/** Where input values come from: `INPUT_<NAME>` in an action, flags in the CLI, a table in tests. */
export type InputSource = (name: string) => string | undefined;

/** The runner's convention: `INPUT_` + the name upper-cased, spaces to `_`, hyphens kept. */
export function environmentInputs(env: NodeJS.ProcessEnv = process.env): InputSource {
  return (name) => env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`];
}

export function mapInputs(values: Record<string, string | undefined>): InputSource {
  return (name) => values[name];
}

/** Masks a value in every later log line (core.setSecret in an action). */
export type Masker = (value: string) => void;

/**
 * Typed, strict reading of action inputs. Every parse error is a ConfigurationError that names
 * the input and says what was expected; secret values are never echoed in an error.
 */
export class Inputs {
  constructor(
    private readonly source: InputSource,
    private readonly mask: Masker = () => undefined,
  ) {}

  private raw(name: string): string {
    return (this.source(name) ?? '').trim();
  }

  required(name: string): string {
    const value = this.raw(name);
    if (value === '') throw new ConfigurationError('is required and was not supplied', name);
    return value;
  }

  /** The value exactly as given, untrimmed (`undefined` when not given): what a gate request carries. */
  given(name: string): string | undefined {
    const value = this.source(name);
    return value === undefined || value === '' ? undefined : value;
  }

  optional(name: string): string | undefined {
    const value = this.raw(name);
    return value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.optional(name) ?? fallback;
  }

  /** Masks the value (and each of its lines) before returning it. */
  secret(name: string, options: { required?: boolean } = {}): string | undefined {
    const value = options.required ? this.required(name) : this.optional(name);
    if (value !== undefined) maskMultiline(this.mask, value);
    return value;
  }

  /** YAML 1.2 core-schema booleans only: true|True|TRUE|false|False|FALSE. */
  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === '') return fallback;
    if (['true', 'True', 'TRUE'].includes(value)) return true;
    if (['false', 'False', 'FALSE'].includes(value)) return false;
    throw new ConfigurationError(`expected true or false, got "${clip(value)}"`, name);
  }

  integer(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const value = this.raw(name);
    if (value === '') return fallback;
    if (!/^-?\d+$/.test(value)) throw new ConfigurationError(`expected a whole number, got "${clip(value)}"`, name);
    const n = Number(value);
    if (range.min !== undefined && n < range.min)
      throw new ConfigurationError(`must be at least ${range.min}, got ${n}`, name);
    if (range.max !== undefined && n > range.max)
      throw new ConfigurationError(`must be at most ${range.max}, got ${n}`, name);
    return n;
  }

  number(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const value = this.raw(name);
    if (value === '') return fallback;
    const n = Number(value);
    if (!/^-?\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) {
      throw new ConfigurationError(`expected a number, got "${clip(value)}"`, name);
    }
    if (range.min !== undefined && n < range.min)
      throw new ConfigurationError(`must be at least ${range.min}, got ${n}`, name);
    if (range.max !== undefined && n > range.max)
      throw new ConfigurationError(`must be at most ${range.max}, got ${n}`, name);
    return n;
  }

  choice<T extends string>(name: string, options: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === '') return fallback;
    if (!(options as readonly string[]).includes(value)) {
      throw new ConfigurationError(`expected one of ${options.join(', ')}, got "${clip(value)}"`, name);
    }
    return value as T;
  }

  /** Items separated by newlines or commas; blank items dropped. */
  list(name: string): string[] {
    return splitList(this.raw(name));
  }

  /** Items separated by newlines only (values may contain commas). */
  lines(name: string): string[] {
    return this.raw(name)
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
  }

  /** Milliseconds from `30s`, `10m`, `1h30m`, `500ms` or bare seconds. */
  duration(name: string, fallback: string | number, range: { min?: number; max?: number } = {}): number {
    const value = this.raw(name);
    const ms =
      value === '' ? (typeof fallback === 'number' ? fallback : parseDuration(fallback)) : parseDuration(value);
    if (ms === undefined) {
      throw new ConfigurationError(`expected a duration such as 30s, 10m or 1h30m, got "${clip(value)}"`, name);
    }
    if (range.min !== undefined && ms < range.min)
      throw new ConfigurationError(`must be at least ${range.min} ms, got ${ms} ms`, name);
    if (range.max !== undefined && ms > range.max)
      throw new ConfigurationError(`must be at most ${range.max} ms, got ${ms} ms`, name);
    return ms;
  }

  /**
   * `KEY=VALUE` lines. Keys must be identifiers (or `keyPattern`); a key may appear once.
   * With `secret: true` every value is masked and no value is quoted in an error.
   */
  keyValues(
    name: string,
    options: { secret?: boolean; keyPattern?: RegExp; keyDescription?: string } = {},
  ): Map<string, string> {
    const pattern = options.keyPattern ?? /^[A-Za-z_][A-Za-z0-9_]*$/;
    const description = options.keyDescription ?? 'letters, digits and _ (not starting with a digit)';
    const result = new Map<string, string>();
    const text = this.source(name) ?? '';
    text.split(/\r?\n/).forEach((line, index) => {
      if (line.trim() === '' || line.trimStart().startsWith('#')) return;
      const eq = line.indexOf('=');
      const where = `line ${index + 1}`;
      if (eq <= 0) throw new ConfigurationError(`${where} is not KEY=VALUE`, name);
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1);
      // A secret line that is not KEY=VALUE may be the secret itself: never quote it.
      if (!pattern.test(key)) {
        throw new ConfigurationError(
          `${where}: ${options.secret ? 'the key' : `key "${clip(key)}"`} must be ${description}`,
          name,
        );
      }
      if (result.has(key)) throw new ConfigurationError(`${where}: key "${key}" is given twice`, name);
      if (options.secret) maskMultiline(this.mask, value);
      result.set(key, value);
    });
    return result;
  }

  json<T = unknown>(name: string): T | undefined {
    const value = this.raw(name);
    if (value === '') return undefined;
    try {
      return JSON.parse(value) as T;
    } catch (error) {
      throw new ConfigurationError(`expected JSON (${(error as Error).message})`, name);
    }
  }
}

export function splitList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

export function maskMultiline(mask: Masker, value: string): void {
  if (value.trim() === '') return;
  mask(value);
  for (const line of value.split(/\r?\n/)) {
    if (line.trim().length >= 4 && line !== value) mask(line.trim());
  }
}

/** Quote user text in an error without flooding the log. */
export function clip(text: string, max = 80): string {
  const oneLine = JSON.stringify(text).slice(1, -1);
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
}
