import { ConfigurationError } from '../core/errors.js';

/** What every response must show to count as a success. */
export interface Expectations {
  status: StatusMatcher;
  /** The version the endpoint must serve (plain body, JSON `version`, or `X-Version`). */
  version?: string | undefined;
  /** A regular expression the body must match. */
  body?: RegExp | undefined;
}

export interface StatusMatcher {
  matches(status: number): boolean;
  /** As the user wrote it, for reasons: "200" or "200-299, 304". */
  readonly text: string;
}

/**
 * `200`, `200,204`, `200-299`, or a mix (`200-299, 304`). Codes are 100..599.
 * A ConfigurationError names the input and the item that is wrong.
 */
export function parseExpectedStatus(text: string, input = 'expected-status'): StatusMatcher {
  const items = text
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0)
    throw new ConfigurationError('expected a status code, a list or a range such as 200-299', input);
  const ranges: [number, number][] = items.map((item) => {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(item);
    if (!m) throw new ConfigurationError(`"${item}" is not a status code or a range such as 200-299`, input);
    const low = Number(m[1]);
    const high = m[2] === undefined ? low : Number(m[2]);
    if (low < 100 || high > 599 || low > high) {
      throw new ConfigurationError(`"${item}" is not a range of HTTP status codes (100-599, low to high)`, input);
    }
    return [low, high];
  });
  return {
    matches: (status) => ranges.some(([low, high]) => status >= low && status <= high),
    text: items.join(', '),
  };
}

export function parseExpectedBody(text: string | undefined, input = 'expected-body'): RegExp | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return new RegExp(text);
  } catch (error) {
    throw new ConfigurationError(`not a valid regular expression (${(error as Error).message})`, input);
  }
}

/**
 * Does the served version satisfy the expected one? Equal strings do. So does a full commit SHA
 * served where the pipeline expects its short form (build-and-tag tags images with the short SHA,
 * many apps report the full one), or the reverse; anything else must be equal.
 */
export function versionMatches(served: string, expected: string): boolean {
  if (served === expected) return true;
  const a = served.toLowerCase();
  const b = expected.toLowerCase();
  const isSha = (v: string) => /^[0-9a-f]{7,40}$/.test(v);
  if (!isSha(a) || !isSha(b)) return false;
  return a.startsWith(b) || b.startsWith(a);
}
