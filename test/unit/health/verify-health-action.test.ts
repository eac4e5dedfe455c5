import { describe, expect, test } from 'vitest';
import { Inputs, mapInputs } from '../../../src/core/inputs.js';
import { action as verifyHealth, parseRate, readOptions } from '../../../src/actions/verify-health/main.js';
import { annotationMessages, everythingShown, runActionInProcess } from '../../support/action-harness.js';
import { FakeClock } from '../../support/clock.js';
import { ok, scriptedProbe, status, type Scripted } from '../../support/health-fakes.js';

/** The action's entry as the runner runs it (every action.yml default applied), with a scripted probe. */
async function action(values: Record<string, string>, script: Scripted[]) {
  const clock = new FakeClock();
  const { probe, requests } = scriptedProbe(clock, script);
  const result = await runActionInProcess({
    action: 'actions/verify-health',
    with: values,
    run: () => verifyHealth.main({ deps: { probe, clock } }),
  });
  expect(annotationMessages(result, 'warning')).toEqual([]);
  return { result, outputs: result.outputs, failures: annotationMessages(result, 'error'), requests };
}

describe('verify-health action', () => {
  test('healthy: outputs and a summary', async () => {
    const { outputs, failures, result } = await action(
      { url: 'http://127.0.0.1:8080/version', 'expected-version': 'abc1234', interval: '1s' },
      [ok('abc1234', 12)],
    );
    expect(failures).toEqual([]);
    expect(result.outcome).toBe('success');
    expect(outputs).toEqual({
      healthy: 'true',
      checks: '3',
      'served-version': 'abc1234',
      'error-rate': '0',
      'p50-ms': '12',
      'p95-ms': '12',
    });
    expect(result.summary.match(/### verify-health/g)).toHaveLength(1);
    expect(result.summary).toMatch(/✅ healthy/);
    expect(result.summary).toMatch(/`abc1234` \(expected `abc1234`\)/);
  });

  test('unhealthy: outputs are still written and the step fails with the reason', async () => {
    const { outputs, failures, result } = await action(
      { url: 'http://127.0.0.1:8080/version', timeout: '10s', 'expected-version': 'abc1234' },
      [status(500, 'Internal Server Error')],
    );
    expect(outputs.healthy).toBe('false');
    expect(outputs['error-rate']).toBe('1');
    expect(Number(outputs.checks)).toBeGreaterThan(1);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^verify-health: not healthy within 10s .*HTTP 500 \(expected 200\)/);
    expect(result.outcome).toBe('failure');
    expect(result.summary).toMatch(/❌ not healthy/);
    expect(result.summary).toMatch(/\*\*Reason:\*\*.*HTTP 500/);
  });

  test('header values are masked and never written anywhere', async () => {
    const { result, requests } = await action(
      {
        url: 'http://127.0.0.1:8080/version',
        headers: 'Authorization: Bearer sup3r-s3cret\nX-Api-Key: k3y-s3cret',
        timeout: '5s',
      },
      [status(401, 'denied')],
    );
    expect(requests[0]?.headers).toEqual({ authorization: 'Bearer sup3r-s3cret', 'x-api-key': 'k3y-s3cret' });
    expect(result.masks).toEqual(expect.arrayContaining(['Bearer sup3r-s3cret', 'k3y-s3cret']));
    expect(result.leaks).toEqual([]);
    expect(everythingShown(result)).not.toMatch(/s3cret/);
  });

  test('with only a url every default is valid: no window, no limits, the defaults of action.yml', async () => {
    const { failures, outputs, requests } = await action({ url: 'http://127.0.0.1:8080/version' }, [ok('v1', 5)]);
    expect(failures).toEqual([]);
    expect(outputs.healthy).toBe('true');
    // The defaults: 3 consecutive rounds, 200 expected.
    expect(requests).toHaveLength(3);
  });

  test.each([
    [{}, /Input "url": is required/],
    [{ url: 'ftp://host/x' }, /Input "url": "ftp:\/\/host\/x" is not an http/],
    [{ url: 'http://u:p4ss@host/x' }, /Input "url": a URL must not carry credentials/],
    [{ url: 'http://h/', 'expected-status': '2xx' }, /Input "expected-status"/],
    [{ url: 'http://h/', consecutive: '0' }, /Input "consecutive": must be at least 1/],
    [{ url: 'http://h/', interval: 'soon' }, /Input "interval": expected a duration/],
    [{ url: 'http://h/', warmup: '2m', timeout: '1m' }, /Input "warmup": must be shorter than timeout/],
    [{ url: 'http://h/', window: '60s', timeout: '1m' }, /Input "window": warmup \+ window must be shorter/],
    [{ url: 'http://h/', 'max-p95-ms': '200' }, /Input "max-p95-ms": only applies with a window/],
    [{ url: 'http://h/', 'max-error-rate': '1%' }, /Input "max-error-rate": only applies with a window/],
    [{ url: 'http://h/', window: '10s', 'max-error-rate': '5' }, /Input "max-error-rate": expected a fraction/],
    [{ url: 'http://h/', 'host-header': 'a b' }, /Input "host-header"/],
  ])('%j is a configuration error', async (values, message) => {
    const { failures, requests, result } = await action(values as Record<string, string>, [ok()]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^Configuration error: /);
    expect(failures[0]).toMatch(message);
    expect(requests).toHaveLength(0);
    expect(failures[0]).not.toContain('p4ss');
    expect(result.outcome).toBe('failure');
    if ((values as Record<string, string>).url?.includes('p4ss'))
      expect(result.masks).toContain('http://u:p4ss@host/x');
  });

  test('a traffic window is read with its limits', () => {
    const options = readOptions(
      new Inputs(
        mapInputs({ url: 'http://h/', window: '30s', 'max-error-rate': '1%', 'max-p95-ms': '250', timeout: '2m' }),
      ),
      () => undefined,
    );
    expect(options.window).toEqual({ durationMs: 30_000, maxErrorRate: 0.01, maxP95Ms: 250 });
    expect(options.requestTimeoutMs).toBe(5000);
    expect(options.consecutive).toBe(3);
  });

  test.each([
    ['0', 0],
    ['0.05', 0.05],
    ['5%', 0.05],
    ['100%', 1],
    ['1', 1],
  ])('rate %j = %d', (text, rate) => {
    expect(parseRate(text)).toBeCloseTo(rate);
  });
});
