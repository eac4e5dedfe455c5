import { formatDuration } from '../../core/duration.js';
import { ConfigurationError } from '../../core/errors.js';
import type { Inputs } from '../../core/inputs.js';
import { defineAction } from '../../core/action.js';
import { verifyHealth, type HealthCheckOptions, type HealthCheckResult } from '../../health/check.js';
import { parseExpectedBody, parseExpectedStatus } from '../../health/expectations.js';
import { httpProbe, type Probe } from '../../health/probe.js';
import { parseHeaderLines } from '../../health/request-headers.js';
import { formatRate } from '../../health/verdict.js';

/** A scripted probe and a fake clock (Deps) make the loop instant and deterministic in tests. */
export interface VerifyHealthSeams {
  probe: Probe;
}

export const action = defineAction<VerifyHealthSeams>({
  seams: () => ({ probe: httpProbe }),
  main: async ({ inputs, log, outputs, deps }) => {
    const check = readOptions(inputs, (value) => log.mask(value));
    const result = await verifyHealth(check, { log, probe: deps.probe, clock: deps.clock });
    outputs.set('healthy', result.healthy);
    outputs.set('checks', result.checks);
    outputs.set('served-version', result.servedVersion ?? '');
    outputs.set('error-rate', Number(result.stats.errorRate.toFixed(4)));
    outputs.set('p50-ms', result.stats.p50Ms ?? '');
    outputs.set('p95-ms', result.stats.p95Ms ?? '');
    await log.summary(summaryMarkdown(check, result));
    if (result.healthy) {
      log.info(`Healthy after ${result.checks} checks in ${formatDuration(result.elapsedMs)}`);
      return {};
    }
    return { failure: `verify-health: ${result.reason ?? 'not healthy'}` };
  },
});

export function readOptions(inputs: Inputs, mask: (value: string) => void): HealthCheckOptions {
  const urls = inputs.list('url');
  if (urls.length === 0) throw new ConfigurationError('is required: one or more http(s) URLs', 'url');
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new ConfigurationError(`"${url}" is not an http:// or https:// URL`, 'url');
    }
    // Credentials in a URL would be printed with every check; they belong in `headers`.
    if (parsed.username !== '' || parsed.password !== '') {
      mask(url);
      throw new ConfigurationError('a URL must not carry credentials; send them with the headers input', 'url');
    }
  }
  const hostHeader = inputs.optional('host-header');
  if (hostHeader !== undefined && !/^[A-Za-z0-9.-]+(:\d+)?$/.test(hostHeader)) {
    throw new ConfigurationError(`"${hostHeader}" is not a host name (with an optional :port)`, 'host-header');
  }
  const headers = parseHeaderLines(inputs.secret('headers') ?? '', mask);

  const timeoutMs = inputs.duration('timeout', '2m', { min: 1 });
  const requestTimeoutMs = inputs.duration('request-timeout', '5s', { min: 1 });
  const warmupMs = inputs.duration('warmup', 0, { min: 0 });
  if (warmupMs >= timeoutMs) {
    throw new ConfigurationError(`must be shorter than timeout (${formatDuration(timeoutMs)})`, 'warmup');
  }

  const check: HealthCheckOptions = {
    urls,
    hostHeader,
    headers,
    expect: {
      status: parseExpectedStatus(inputs.string('expected-status', '200')),
      version: inputs.optional('expected-version'),
      body: parseExpectedBody(inputs.optional('expected-body')),
    },
    consecutive: inputs.integer('consecutive', 3, { min: 1, max: 1000 }),
    intervalMs: inputs.duration('interval', '2s', { min: 0 }),
    requestTimeoutMs: Math.min(requestTimeoutMs, timeoutMs),
    timeoutMs,
    warmupMs,
  };

  const windowText = inputs.optional('window');
  if (windowText !== undefined) {
    const durationMs = inputs.duration('window', 0, { min: 1 });
    if (warmupMs + durationMs >= timeoutMs) {
      throw new ConfigurationError(
        `warmup + window must be shorter than timeout (${formatDuration(timeoutMs)}) to leave time for the consecutive checks`,
        'window',
      );
    }
    const maxP95 = inputs.optional('max-p95-ms');
    check.window = {
      durationMs,
      maxErrorRate: parseRate(inputs.string('max-error-rate', '0')),
      maxP95Ms: maxP95 === undefined ? undefined : inputs.number('max-p95-ms', 0, { min: 0 }),
    };
  } else {
    // A limit without a window would silently do nothing. Neither has a default in action.yml
    // (the runner passes every default), so a value here is one the workflow set.
    for (const name of ['max-error-rate', 'max-p95-ms']) {
      if (inputs.optional(name) !== undefined)
        throw new ConfigurationError('only applies with a window; set window too', name);
    }
  }
  return check;
}

/** `0.01` or `1%`: a fraction of requests, 0..1. */
export function parseRate(text: string, input = 'max-error-rate'): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  const rate = m ? Number(m[1]) / (m[2] === '%' ? 100 : 1) : NaN;
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new ConfigurationError(`expected a fraction from 0 to 1 (0.01) or a percentage (1%), got "${text}"`, input);
  }
  return rate;
}

function summaryMarkdown(check: HealthCheckOptions, result: HealthCheckResult): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const rows: [string, string][] = [
    ['Result', result.healthy ? '✅ healthy' : '❌ not healthy'],
    [
      'URL',
      check.urls.map((u) => `\`${u}\``).join(', ') + (check.hostHeader ? ` (Host: \`${check.hostHeader}\`)` : ''),
    ],
  ];
  if (check.expect.version !== undefined || result.servedVersion !== undefined) {
    const expected = check.expect.version === undefined ? '' : ` (expected \`${check.expect.version}\`)`;
    rows.push(['Version served', `\`${result.servedVersion ?? 'none'}\`${expected}`]);
  }
  rows.push(['Checks', `${result.checks} in ${formatDuration(result.elapsedMs)}`]);
  const window = check.window ? ` over a ${formatDuration(check.window.durationMs)} window` : '';
  rows.push(['Error rate', `${formatRate(result.stats.errorRate)}${window}`]);
  if (result.stats.p50Ms !== undefined)
    rows.push(['Latency p50 / p95', `${result.stats.p50Ms} ms / ${result.stats.p95Ms} ms`]);
  const table = rows.map(([k, v]) => `| ${k} | ${cell(v)} |`).join('\n');
  const reason = result.reason ? `\n\n**Reason:** ${cell(result.reason)}\n` : '\n';
  return `### verify-health\n\n| | |\n|---|---|\n${table}${reason}`;
}
