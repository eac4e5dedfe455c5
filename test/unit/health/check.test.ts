import { describe, expect, test } from 'vitest';
import { MemoryLog } from '../../support/memory-log.js';
import { verifyHealth, type HealthCheckOptions } from '../../../src/health/check.js';
import { parseExpectedStatus } from '../../../src/health/expectations.js';
import { FakeClock } from '../../support/clock.js';
import { ok, refused, scriptedProbe, status, type Scripted } from '../../support/health-fakes.js';

const base: HealthCheckOptions = {
  urls: ['http://127.0.0.1:8080/version'],
  expect: { status: parseExpectedStatus('200'), version: 'abc1234' },
  consecutive: 3,
  intervalMs: 1000,
  requestTimeoutMs: 2000,
  timeoutMs: 30_000,
  warmupMs: 0,
};

async function check(script: Scripted[], options: Partial<HealthCheckOptions> = {}) {
  const clock = new FakeClock();
  const start = clock.now();
  const { probe, requests } = scriptedProbe(clock, script);
  const log = new MemoryLog();
  const result = await verifyHealth({ ...base, ...options }, { probe, clock, log });
  return { result, requests, elapsed: clock.now() - start, log };
}

describe('verifyHealth: consecutive successes', () => {
  test('passes after three good checks in a row', async () => {
    const { result, requests, elapsed } = await check([ok()]);
    expect(result).toMatchObject({ healthy: true, checks: 3, servedVersion: 'abc1234' });
    expect(result.reason).toBeUndefined();
    expect(requests).toHaveLength(3);
    // Three 10 ms requests, two 1 s intervals between them, none after the last.
    expect(elapsed).toBe(2030);
  });

  test('a failure resets the streak', async () => {
    const { result, requests } = await check([ok(), ok(), status(502), ok(), ok(), ok()]);
    expect(result.healthy).toBe(true);
    expect(requests).toHaveLength(6);
    expect(result.stats).toMatchObject({ count: 6, failures: 1 });
  });

  test('connection refused while the service starts, then healthy', async () => {
    const { result } = await check([refused(), refused(), ok(), ok(), ok()]);
    expect(result).toMatchObject({ healthy: true, checks: 5 });
  });

  test('every URL must pass in a round', async () => {
    let bCalls = 0;
    // /a is always fine; /b fails its first request, so the first round fails as a whole.
    const script: Scripted[] = [(r) => (r.url.endsWith('/a') ? ok() : ++bCalls === 1 ? status(500) : ok())];
    const { result, requests } = await check(script, { urls: ['http://h/a', 'http://h/b'], consecutive: 2 });
    expect(result.healthy).toBe(true);
    expect(requests.map((r) => r.url)).toEqual([
      'http://h/a',
      'http://h/b',
      'http://h/a',
      'http://h/b',
      'http://h/a',
      'http://h/b',
    ]);
  });

  test('the request carries the host header and the headers', async () => {
    const { requests } = await check([ok()], { hostHeader: 'app.example.com', headers: { authorization: 'Bearer t' } });
    expect(requests[0]).toMatchObject({
      hostHeader: 'app.example.com',
      headers: { authorization: 'Bearer t' },
      timeoutMs: 2000,
    });
  });
});

describe('verifyHealth: failing and the deadline', () => {
  test('a wrong version fails at the timeout, naming the version served', async () => {
    const { result, elapsed } = await check([ok('def5678')], { timeoutMs: 10_000 });
    expect(result.healthy).toBe(false);
    expect(result.reason).toMatch(/^not healthy within 10s \(0 of 3 checks in a row passed\)/);
    expect(result.reason).toMatch(/serves version "def5678", expected "abc1234"/);
    expect(result.servedVersion).toBe('def5678');
    expect(elapsed).toBeLessThanOrEqual(10_000);
  });

  test('a 500 fails with the status in the reason', async () => {
    const { result } = await check([status(500, 'Internal Server Error')], { timeoutMs: 5000 });
    expect(result.reason).toMatch(/HTTP 500 \(expected 200\); body: "Internal Server Error"/);
  });

  test.each([
    ['fast failures', refused(1)],
    ['requests that hang past the request timeout', ok('abc1234', 60_000)],
    ['slow failures', status(503, 'busy', 1900)],
  ])('never runs past the timeout with %s', async (_name, answer) => {
    for (const timeoutMs of [1, 999, 2500, 7777, 30_000]) {
      const { result, elapsed, requests } = await check([answer], { timeoutMs });
      expect(result.healthy).toBe(false);
      expect(elapsed).toBeLessThanOrEqual(timeoutMs);
      for (const r of requests) expect(r.timeoutMs).toBeLessThanOrEqual(timeoutMs);
    }
  });

  test('the last request is cut to what is left of the timeout', async () => {
    const { requests, elapsed } = await check([ok('abc1234', 60_000)], { timeoutMs: 5000, requestTimeoutMs: 2000 });
    // 2000 (timeout) + 1000 (interval) + 2000 (timeout); then 0 left: no third request.
    expect(requests.map((r) => r.timeoutMs)).toEqual([2000, 2000]);
    expect(elapsed).toBe(5000);
  });

  test('warmup delays the first request and counts against the timeout', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const seenAt: number[] = [];
    const { probe } = scriptedProbe(clock, [
      (r) => {
        seenAt.push(clock.now() - start);
        return ok('abc1234', r.timeoutMs > 0 ? 10 : 0);
      },
    ]);
    const result = await verifyHealth(
      { ...base, warmupMs: 5000, consecutive: 1 },
      { probe, clock, log: new MemoryLog() },
    );
    expect(result.healthy).toBe(true);
    expect(seenAt).toEqual([5000]);
  });
});

describe('verifyHealth: traffic window', () => {
  const window = { durationMs: 10_000, maxErrorRate: 0.1, maxP95Ms: 100 };

  test('a clean window passes and the stats cover the window only', async () => {
    const { result } = await check([refused(), ok('abc1234', 20)], { window, intervalMs: 500 });
    expect(result.healthy).toBe(true);
    // 10 s window at one request per 520 ms.
    expect(result.stats.count).toBe(20);
    expect(result.stats.failures).toBe(0);
    expect(result.stats.p95Ms).toBe(20);
    expect(result.checks).toBe(1 + 3 + 20);
  });

  test('an error rate above the limit fails with the rate', async () => {
    let n = 0;
    const flaky: Scripted = () => (++n > 3 && n % 4 === 0 ? status(502) : ok());
    const { result } = await check([flaky], { window, intervalMs: 500 });
    expect(result.healthy).toBe(false);
    expect(result.reason).toMatch(
      /^traffic window: error rate 2\d(\.\d+)?% \(\d+ of \d+ requests\) is above 10%; first failure: .*HTTP 502/,
    );
    expect(result.stats.errorRate).toBeGreaterThan(0.2);
  });

  test('a p95 above the limit fails with the p95', async () => {
    let n = 0;
    const slow: Scripted = () => ok('abc1234', ++n % 5 === 0 ? 400 : 10);
    const { result } = await check([slow], { window: { ...window, maxErrorRate: 0 }, intervalMs: 500 });
    expect(result.healthy).toBe(false);
    expect(result.reason).toBe('traffic window: p95 latency 400 ms is above 100 ms');
    expect(result.stats.p50Ms).toBe(10);
  });

  test('a window that no longer fits in the timeout fails at once, before the deadline', async () => {
    const { result, elapsed } = await check([refused(), refused(), refused(), ok()], {
      window,
      timeoutMs: 15_000,
    });
    expect(result.healthy).toBe(false);
    expect(result.reason).toMatch(/of the timeout is left, the traffic window needs 10s/);
    expect(elapsed).toBeLessThan(15_000);
  });
});

describe('verifyHealth: log', () => {
  test('a repeated failure is logged once, a new one again', async () => {
    const { log } = await check([status(500), status(500), status(500), status(503), ok(), ok(), ok()]);
    const info = log.lines.filter((l) => l.startsWith('✗'));
    expect(info).toHaveLength(2);
    expect(info[0]).toMatch(/HTTP 500/);
    expect(info[1]).toMatch(/HTTP 503/);
    expect(log.lines.filter((l) => l.startsWith('✓'))).toEqual([
      '✓ check passed, version abc1234 (1/3)',
      '✓ check passed, version abc1234 (2/3)',
      '✓ check passed, version abc1234 (3/3)',
    ]);
  });
});

describe('verifyHealth: the request the deadline cuts', () => {
  test('does not replace the real failure in the reason', async () => {
    // Wrong version answered in 10 ms; the rounds drift so the last request starts with 5 ms left.
    const { result } = await check([ok('def5678', 10), ok('def5678', 10), ok('def5678', 10), ok('def5678', 4000)], {
      timeoutMs: 3035,
      intervalMs: 1000,
      requestTimeoutMs: 2000,
    });
    expect(result.reason).toMatch(/serves version "def5678", expected "abc1234"$/);
    expect(result.checks).toBe(3);
  });
});
