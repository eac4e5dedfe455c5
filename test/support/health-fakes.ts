import type { FakeClock } from './clock.js';
import type { Probe, ProbeRequest, ProbeResult } from '../../src/health/probe.js';

export type Scripted = Omit<ProbeResult, 'url'> | ((request: ProbeRequest) => Omit<ProbeResult, 'url'>);

/**
 * A probe that answers from a script (the last entry repeats) and advances the clock by each
 * answer's duration, capped at the request timeout as the real probe would be.
 */
export function scriptedProbe(clock: FakeClock, script: Scripted[]) {
  const requests: ProbeRequest[] = [];
  const probe: Probe = async (request) => {
    requests.push(request);
    const entry = script[Math.min(requests.length - 1, script.length - 1)];
    if (entry === undefined) throw new Error('empty script');
    const answer = typeof entry === 'function' ? entry(request) : entry;
    if (answer.durationMs >= request.timeoutMs) {
      clock.time += request.timeoutMs;
      return { url: request.url, durationMs: request.timeoutMs, error: `no response within ${request.timeoutMs} ms` };
    }
    clock.time += answer.durationMs;
    return { url: request.url, ...answer };
  };
  return { probe, requests };
}

export const ok = (version = 'abc1234', durationMs = 10): Omit<ProbeResult, 'url'> => ({
  durationMs,
  status: 200,
  headers: {},
  body: version,
});
export const status = (code: number, body = 'oops', durationMs = 10): Omit<ProbeResult, 'url'> => ({
  durationMs,
  status: code,
  headers: {},
  body,
});
export const refused = (durationMs = 1): Omit<ProbeResult, 'url'> => ({ durationMs, error: 'connection refused' });
