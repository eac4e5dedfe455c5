import { versionMatches, type Expectations } from './expectations.js';
import type { ProbeResult } from './probe.js';
import type { WindowStats } from './stats.js';

/** How one response was judged. */
export interface ResponseVerdict {
  ok: boolean;
  /** Why it failed, naming what was seen: status, body excerpt, version served. */
  reason?: string;
  servedVersion?: string;
}

const EXCERPT_CHARS = 200;

/**
 * The version a response serves: an `X-Version` header first, then a JSON body's `version`
 * field, then a plain-text body that is one short token (what `/version` endpoints return).
 */
export function servedVersionOf(result: ProbeResult): string | undefined {
  const header = result.headers?.['x-version']?.trim();
  if (header) return header;
  const body = result.body?.trim();
  if (!body) return undefined;
  if (body.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed !== null && typeof parsed === 'object' && 'version' in parsed) {
        const version = (parsed as { version: unknown }).version;
        if (typeof version === 'string' || typeof version === 'number') return String(version);
      }
    } catch {
      // Not JSON after all: fall through to the plain-text rule, which rejects it too.
    }
    return undefined;
  }
  return /^[\w.+\-/:@]{1,128}$/.test(body) ? body : undefined;
}

/** A one-line, bounded quote of a body for a failure reason. */
export function bodyExcerpt(body: string | undefined, max = EXCERPT_CHARS): string {
  const oneLine = (body ?? '').replace(/\s+/g, ' ').trim();
  const clipped = oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
  return JSON.stringify(clipped);
}

/** Judge one response against the expectations; checks run in the order a reader would ask. */
export function judgeResponse(result: ProbeResult, expect: Expectations): ResponseVerdict {
  const where = result.url;
  if (result.error !== undefined || result.status === undefined) {
    return { ok: false, reason: `${where}: ${result.error ?? 'no response'}` };
  }
  const served = servedVersionOf(result);
  const withVersion = served === undefined ? {} : { servedVersion: served };
  if (!expect.status.matches(result.status)) {
    return {
      ok: false,
      reason: `${where}: HTTP ${result.status} (expected ${expect.status.text}); body: ${bodyExcerpt(result.body)}`,
      ...withVersion,
    };
  }
  if (expect.version !== undefined) {
    if (served === undefined) {
      return {
        ok: false,
        reason: `${where}: serves no version (no X-Version header, no JSON "version" field, body: ${bodyExcerpt(result.body)}); expected "${expect.version}"`,
      };
    }
    if (!versionMatches(served, expect.version)) {
      return {
        ok: false,
        reason: `${where}: serves version "${served}", expected "${expect.version}"`,
        ...withVersion,
      };
    }
  }
  if (expect.body !== undefined && !expect.body.test(result.body ?? '')) {
    return {
      ok: false,
      reason: `${where}: body does not match /${expect.body.source}/; body: ${bodyExcerpt(result.body)}`,
      ...withVersion,
    };
  }
  return { ok: true, ...withVersion };
}

/** Limits for the traffic window; an undefined limit is not checked. */
export interface WindowLimits {
  /** A fraction: 0.01 is 1 %. */
  maxErrorRate: number;
  maxP95Ms?: number | undefined;
}

/** The window's verdict: undefined when within limits, else the reason with the numbers. */
export function judgeWindow(stats: WindowStats, limits: WindowLimits): string | undefined {
  if (stats.count === 0) return 'no request completed in the traffic window';
  const problems: string[] = [];
  if (stats.errorRate > limits.maxErrorRate) {
    problems.push(
      `error rate ${formatRate(stats.errorRate)} (${stats.failures} of ${stats.count} requests) is above ${formatRate(limits.maxErrorRate)}`,
    );
  }
  if (limits.maxP95Ms !== undefined && stats.p95Ms !== undefined && stats.p95Ms > limits.maxP95Ms) {
    problems.push(`p95 latency ${stats.p95Ms} ms is above ${limits.maxP95Ms} ms`);
  }
  return problems.length === 0 ? undefined : `traffic window: ${problems.join('; ')}`;
}

export function formatRate(rate: number): string {
  return `${Number((rate * 100).toFixed(2))}%`;
}
