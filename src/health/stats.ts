/** One request as the statistics see it. */
export interface Sample {
  ok: boolean;
  durationMs: number;
}

export interface WindowStats {
  count: number;
  failures: number;
  /** failures ÷ count; 0 when nothing was sent. */
  errorRate: number;
  p50Ms?: number;
  p95Ms?: number;
}

/**
 * Nearest-rank percentile: the smallest value with at least p % of the values at or below it.
 * It is always a latency that was actually observed, never an interpolation.
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  if (p < 0 || p > 100) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/** Error rate and latency percentiles over every request, failed ones included. */
export function summarize(samples: readonly Sample[]): WindowStats {
  const count = samples.length;
  const failures = samples.filter((s) => !s.ok).length;
  const durations = samples.map((s) => s.durationMs);
  const stats: WindowStats = { count, failures, errorRate: count === 0 ? 0 : failures / count };
  const p50 = percentile(durations, 50);
  const p95 = percentile(durations, 95);
  if (p50 !== undefined) stats.p50Ms = Math.round(p50);
  if (p95 !== undefined) stats.p95Ms = Math.round(p95);
  return stats;
}
