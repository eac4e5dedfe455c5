import { describe, expect, test } from 'vitest';
import { parseExpectedBody, parseExpectedStatus, type Expectations } from '../../../src/health/expectations.js';
import type { ProbeResult } from '../../../src/health/probe.js';
import { bodyExcerpt, judgeResponse, judgeWindow, servedVersionOf } from '../../../src/health/verdict.js';

const response = (partial: Partial<ProbeResult>): ProbeResult => ({
  url: 'http://127.0.0.1:8080/version',
  durationMs: 5,
  status: 200,
  headers: {},
  body: '',
  ...partial,
});

const noResponse = (error: string): ProbeResult => ({ url: 'http://127.0.0.1:8080/version', durationMs: 5, error });

describe('servedVersionOf', () => {
  test.each([
    ['plain body', response({ body: 'abc1234\n' }), 'abc1234'],
    ['JSON version field', response({ body: '{"status":"ok","version":"1.4.2"}' }), '1.4.2'],
    ['JSON numeric version', response({ body: '{"version":7}' }), '7'],
    ['X-Version header wins over the body', response({ headers: { 'x-version': 'hdr1' }, body: 'body1' }), 'hdr1'],
    ['JSON without version', response({ body: '{"status":"ok"}' }), undefined],
    ['broken JSON', response({ body: '{"version":' }), undefined],
    ['an HTML page is not a version', response({ body: '<html><body>Hello</body></html>' }), undefined],
    ['a sentence is not a version', response({ body: 'service is up and running' }), undefined],
    ['empty body', response({ body: '' }), undefined],
    ['no response', noResponse('connection refused'), undefined],
  ])('%s', (_name, result, expected) => {
    expect(servedVersionOf(result)).toBe(expected);
  });
});

describe('judgeResponse', () => {
  const base: Expectations = { status: parseExpectedStatus('200') };
  const version: Expectations = { ...base, version: 'abc1234' };
  test.each<[string, ProbeResult, Expectations, boolean, RegExp | undefined]>([
    ['200 with no other expectation', response({ body: 'whatever' }), base, true, undefined],
    [
      '500 names the status and the body',
      response({ status: 500, body: 'Internal  Server\nError' }),
      base,
      false,
      /HTTP 500 \(expected 200\); body: "Internal Server Error"/,
    ],
    ['status range', response({ status: 204 }), { status: parseExpectedStatus('200-299') }, true, undefined],
    [
      'status outside a range',
      response({ status: 302 }),
      { status: parseExpectedStatus('200-299') },
      false,
      /HTTP 302 \(expected 200-299\)/,
    ],
    [
      'refused connection',
      noResponse('connection refused'),
      base,
      false,
      /127\.0\.0\.1:8080\/version: connection refused/,
    ],
    ['right version', response({ body: 'abc1234' }), version, true, undefined],
    [
      'full SHA served for a short one',
      response({ body: 'abc1234ffffffffffffffffffffffffffffffff0' }),
      version,
      true,
      undefined,
    ],
    [
      'wrong version names the version served',
      response({ body: 'def5678' }),
      version,
      false,
      /serves version "def5678", expected "abc1234"/,
    ],
    [
      'no version at all',
      response({ body: '<h1>hi</h1>' }),
      version,
      false,
      /serves no version .*body: "<h1>hi<\/h1>"\); expected "abc1234"/,
    ],
    ['status is judged before the version', response({ status: 503, body: 'abc1234' }), version, false, /HTTP 503/],
    [
      'body regex matches',
      response({ body: '{"db":"up"}' }),
      { ...base, body: parseExpectedBody('"db":"up"') },
      true,
      undefined,
    ],
    [
      'body regex fails',
      response({ body: '{"db":"down"}' }),
      { ...base, body: parseExpectedBody('"db":"up"') },
      false,
      /body does not match \/"db":"up"\/; body: "\{\\"db\\":\\"down\\"\}"/,
    ],
  ])('%s', (_name, result, expectations, ok, reason) => {
    const verdict = judgeResponse(result, expectations);
    expect(verdict.ok).toBe(ok);
    if (reason) expect(verdict.reason).toMatch(reason);
    else expect(verdict.reason).toBeUndefined();
  });

  test('the served version is reported even when the status fails', () => {
    expect(judgeResponse(response({ status: 500, body: '{"version":"9.9"}' }), base).servedVersion).toBe('9.9');
  });
});

describe('bodyExcerpt', () => {
  test('is one line and bounded', () => {
    const excerpt = bodyExcerpt('x'.repeat(1000) + '\n\nend');
    expect(excerpt).not.toContain('\n');
    expect(excerpt.length).toBeLessThanOrEqual(204);
    expect(excerpt.endsWith('…"')).toBe(true);
  });
});

describe('judgeWindow', () => {
  test.each([
    [{ count: 100, failures: 0, errorRate: 0, p50Ms: 5, p95Ms: 20 }, { maxErrorRate: 0 }, undefined],
    [{ count: 100, failures: 1, errorRate: 0.01, p50Ms: 5, p95Ms: 20 }, { maxErrorRate: 0.01 }, undefined],
    [
      { count: 100, failures: 2, errorRate: 0.02, p50Ms: 5, p95Ms: 20 },
      { maxErrorRate: 0.01 },
      'traffic window: error rate 2% (2 of 100 requests) is above 1%',
    ],
    [
      { count: 100, failures: 0, errorRate: 0, p50Ms: 5, p95Ms: 250 },
      { maxErrorRate: 0, maxP95Ms: 200 },
      'traffic window: p95 latency 250 ms is above 200 ms',
    ],
    [{ count: 100, failures: 0, errorRate: 0, p50Ms: 5, p95Ms: 200 }, { maxErrorRate: 0, maxP95Ms: 200 }, undefined],
    [
      { count: 3, failures: 3, errorRate: 1, p50Ms: 900, p95Ms: 900 },
      { maxErrorRate: 0.5, maxP95Ms: 100 },
      'traffic window: error rate 100% (3 of 3 requests) is above 50%; p95 latency 900 ms is above 100 ms',
    ],
    [{ count: 0, failures: 0, errorRate: 0 }, { maxErrorRate: 1 }, 'no request completed in the traffic window'],
  ])('%j with %j', (stats, limits, expected) => {
    expect(judgeWindow(stats, limits)).toBe(expected);
  });
});
