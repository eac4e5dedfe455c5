/** An injectable clock so retry and watch tests do not wait for real. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts (its timer then no longer holds the process). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    }),
};

export interface RetryOptions {
  /** Stop retrying once this much time has passed since the first attempt. */
  deadlineMs: number;
  /** First backoff; doubled each attempt up to maxDelayMs, with full jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  clock?: Clock;
  random?: () => number;
  /** Return a delay in ms to retry after (e.g. from Retry-After), true for backoff, false to give up. */
  retryable(error: unknown): number | boolean;
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
}

/** Retry with exponential backoff and full jitter under an overall deadline. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 20_000;
  const start = clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const verdict = options.retryable(error);
      if (verdict === false) throw error;
      if (options.maxAttempts !== undefined && attempt >= options.maxAttempts) throw error;
      const backoff = Math.min(max, base * 2 ** (attempt - 1));
      const delay = typeof verdict === 'number' ? verdict : Math.round(random() * backoff);
      if (clock.now() - start + delay > options.deadlineMs) throw error;
      options.onRetry?.(error, attempt, delay);
      await clock.sleep(delay);
    }
  }
}
