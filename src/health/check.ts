import { formatDuration } from '../core/duration.js';
import type { Log } from '../core/log.js';
import { systemClock, type Clock } from '../core/retry.js';
import type { Expectations } from './expectations.js';
import { httpProbe, type Probe, type ProbeResult } from './probe.js';
import { summarize, type Sample, type WindowStats } from './stats.js';
import { judgeResponse, judgeWindow, type ResponseVerdict, type WindowLimits } from './verdict.js';

export interface HealthCheckOptions {
  urls: readonly string[];
  hostHeader?: string | undefined;
  /** Authentication headers; sent, never logged. */
  headers?: Readonly<Record<string, string>>;
  expect: Expectations;
  /** Successful rounds in a row required; a round probes every URL once and passes only if all do. */
  consecutive: number;
  intervalMs: number;
  requestTimeoutMs: number;
  /** The whole check, warmup and window included, never runs longer than this. */
  timeoutMs: number;
  warmupMs: number;
  /** After the consecutive successes: keep probing for this long and judge every request in it. */
  window?: ({ durationMs: number } & WindowLimits) | undefined;
}

export interface HealthCheckResult {
  healthy: boolean;
  /** Requests sent, all phases. */
  checks: number;
  /** The last version a response served. */
  servedVersion?: string;
  /** Over the traffic window when there is one, otherwise over every request. */
  stats: WindowStats;
  reason?: string;
  elapsedMs: number;
}

export interface HealthCheckDependencies {
  log: Log;
  probe?: Probe;
  clock?: Clock;
}

/**
 * Probe until `consecutive` rounds pass in a row, then (optionally) hold a traffic window and judge
 * its error rate and p95. Every wait and every request timeout is cut to what is left of
 * `timeoutMs`, so the check ends by its deadline whatever the endpoint does.
 */
export async function verifyHealth(
  options: HealthCheckOptions,
  dependencies: HealthCheckDependencies,
): Promise<HealthCheckResult> {
  const { log } = dependencies;
  const probe = dependencies.probe ?? httpProbe;
  const clock = dependencies.clock ?? systemClock;
  const start = clock.now();
  const deadline = start + options.timeoutMs;
  const remaining = () => deadline - clock.now();

  const all: Sample[] = [];
  let servedVersion: string | undefined;
  const finish = (healthy: boolean, reason: string | undefined, window?: Sample[]): HealthCheckResult => {
    const result: HealthCheckResult = {
      healthy,
      checks: all.length,
      stats: summarize(window ?? all),
      elapsedMs: clock.now() - start,
    };
    if (servedVersion !== undefined) result.servedVersion = servedVersion;
    if (reason !== undefined) result.reason = reason;
    return result;
  };

  /** Probe each URL once; undefined when the deadline came first. */
  const round = async (into: Sample[][]): Promise<ResponseVerdict[] | undefined> => {
    const verdicts: ResponseVerdict[] = [];
    for (const url of options.urls) {
      const left = remaining();
      if (left <= 0) return undefined;
      const timeoutMs = Math.min(options.requestTimeoutMs, left);
      const result: ProbeResult = await probe({
        url,
        hostHeader: options.hostHeader,
        headers: options.headers ?? {},
        timeoutMs,
      });
      // A request cut short by the overall deadline says nothing about the service: it must not
      // replace the last real failure in the reason, nor count in the statistics.
      if (result.error !== undefined && timeoutMs < options.requestTimeoutMs && remaining() <= 0) return undefined;
      const verdict = judgeResponse(result, options.expect);
      if (verdict.servedVersion !== undefined) servedVersion = verdict.servedVersion;
      for (const samples of into) samples.push({ ok: verdict.ok, durationMs: result.durationMs });
      verdicts.push(verdict);
    }
    return verdicts;
  };

  const pause = async (ms: number) => {
    const wait = Math.min(ms, remaining());
    if (wait > 0) await clock.sleep(wait);
  };

  if (options.warmupMs > 0) {
    log.info(`Waiting ${formatDuration(options.warmupMs)} of warmup before the first check`);
    await pause(options.warmupMs);
  }

  let streak = 0;
  let lastFailure: string | undefined;
  for (;;) {
    const verdicts = await round([all]);
    if (verdicts === undefined) {
      const seen = lastFailure ? `; last failure: ${lastFailure}` : '';
      return finish(
        false,
        `not healthy within ${formatDuration(options.timeoutMs)} (${streak} of ${options.consecutive} checks in a row passed)${seen}`,
      );
    }
    const failed = verdicts.find((v) => !v.ok);
    if (failed) {
      streak = 0;
      // A service that keeps failing the same way is said once, not once per interval.
      if (failed.reason !== lastFailure) log.info(`✗ ${failed.reason ?? 'failed'}`);
      else log.debug(`✗ again: ${failed.reason ?? 'failed'}`);
      lastFailure = failed.reason;
    } else {
      streak++;
      const version = servedVersion === undefined ? '' : `, version ${servedVersion}`;
      log.info(`✓ check passed${version} (${streak}/${options.consecutive})`);
      if (streak >= options.consecutive) break;
    }
    await pause(options.intervalMs);
  }

  if (options.window === undefined) return finish(true, undefined);

  const window = options.window;
  if (remaining() < window.durationMs) {
    return finish(
      false,
      `only ${formatDuration(Math.max(0, remaining()))} of the timeout is left, the traffic window needs ${formatDuration(window.durationMs)}`,
      [],
    );
  }
  log.info(`Holding a ${formatDuration(window.durationMs)} traffic window`);
  const windowSamples: Sample[] = [];
  const windowEnd = clock.now() + window.durationMs;
  let firstFailure: string | undefined;
  while (clock.now() < windowEnd) {
    const verdicts = await round([all, windowSamples]);
    if (verdicts === undefined) break;
    for (const v of verdicts) if (!v.ok) firstFailure ??= v.reason;
    await pause(Math.min(options.intervalMs, windowEnd - clock.now()));
  }
  const stats = summarize(windowSamples);
  const problem = judgeWindow(stats, window);
  if (problem === undefined) return finish(true, undefined, windowSamples);
  return finish(false, firstFailure ? `${problem}; first failure: ${firstFailure}` : problem, windowSamples);
}
