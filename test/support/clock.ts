import type { Clock } from '../../src/core/retry.js';

/**
 * A clock whose sleep advances time at once, so retry, watch and lock loops run without waiting.
 * It records every sleep, and `onSleep` lets a test act at a given moment (another run taking a
 * lock while this one waits).
 */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  onSleep: ((now: number) => void) | undefined;
  constructor(public time = 1_000_000) {}
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    if (ms < 0) throw new Error(`negative sleep ${ms}`);
    this.sleeps.push(ms);
    this.time += ms;
    this.onSleep?.(this.time);
    // Yield once, as a real timer would, so events queued meanwhile are handled before the loop goes on.
    await Promise.resolve();
  }
}

/** A clock whose sleep never ends: only an event can move a watch loop on. */
export class FrozenClock implements Clock {
  constructor(public time = 1_000_000) {}
  now(): number {
    return this.time;
  }
  sleep(): Promise<void> {
    return new Promise(() => undefined);
  }
}
