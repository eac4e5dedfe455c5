import { describe, expect, test } from 'vitest';
import { systemClock } from '../../../src/core/retry.js';

const pendingTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('systemClock.sleep', () => {
  test('an abort ends the sleep at once and leaves no timer holding the process', async () => {
    const before = pendingTimers();
    const wake = new AbortController();
    const started = Date.now();
    const sleeping = systemClock.sleep(60_000, wake.signal);
    expect(pendingTimers()).toBe(before + 1);
    wake.abort();
    await sleeping;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(pendingTimers()).toBe(before);
  });

  test('an already aborted signal does not sleep at all', async () => {
    const before = pendingTimers();
    const sleeping = systemClock.sleep(60_000, AbortSignal.abort());
    expect(pendingTimers()).toBe(before);
    await sleeping;
  });

  test('without a signal it sleeps for the time given', async () => {
    const started = Date.now();
    await systemClock.sleep(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
