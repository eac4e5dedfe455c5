import { describe, expect, test } from 'vitest';
import { percentile, summarize } from '../../../src/health/stats.js';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
  test.each([
    [[], 50, undefined],
    [[7], 50, 7],
    [[7], 95, 7],
    [[1, 2], 50, 1],
    [[1, 2], 95, 2],
    [[3, 1, 2], 50, 2],
    [[10, 20, 30, 40], 50, 20],
    [[10, 20, 30, 40], 95, 40],
    [hundred, 50, 50],
    [hundred, 95, 95],
    [hundred, 0, 1],
    [hundred, 100, 100],
  ])('%j p%i = %s', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  test('rejects a percentile outside 0..100', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  test.each([
    { samples: [], expected: { count: 0, failures: 0, errorRate: 0 } },
    {
      samples: [
        { ok: true, durationMs: 10 },
        { ok: true, durationMs: 30 },
        { ok: false, durationMs: 20 },
        { ok: true, durationMs: 40 },
      ],
      expected: { count: 4, failures: 1, errorRate: 0.25, p50Ms: 20, p95Ms: 40 },
    },
    {
      // A timed-out request counts with its full duration: slow failures raise p95.
      samples: [...Array.from({ length: 19 }, () => ({ ok: true, durationMs: 5.4 })), { ok: false, durationMs: 2000 }],
      expected: { count: 20, failures: 1, errorRate: 0.05, p50Ms: 5, p95Ms: 5 },
    },
    {
      samples: [
        ...Array.from({ length: 18 }, () => ({ ok: true, durationMs: 5 })),
        { ok: false, durationMs: 2000 },
        { ok: false, durationMs: 2000 },
      ],
      expected: { count: 20, failures: 2, errorRate: 0.1, p50Ms: 5, p95Ms: 2000 },
    },
  ])('$expected', ({ samples, expected }) => {
    expect(summarize(samples)).toEqual(expected);
  });
});
