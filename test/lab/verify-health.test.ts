import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppImage } from '../../lab/lab.js';
import { runActionInProcess, stepView } from '../support/action-harness.js';
import { action as verifyHealthStep } from '../../src/actions/verify-health/main.js';
import { clientName, docker, eventually, freePort, lab } from './support.js';

// verify-health against real services on the lab swarm: the right release behind a router that
// routes by Host (as Traefik does), a wrong version, and a release that is healthy to Docker but
// answers 500. Everything created here is named `${client}-…` and removed at the end.
const client = clientName('vh');
const run = Date.now().toString(36);
const goodVersion = `vh-ok-${run}`;
const good = buildAppImage(lab, { version: goodVersion });
const broken = buildAppImage(lab, { version: `vh-500-${run}`, mode: 'http500' });
const routedHost = `app.${client}.lab.test`;
const network = `${client}-net`;

// A Host-routing edge for the lab: requests for ROUTE_HOST go to a task of `tasks.<TARGET>`,
// anything else gets Traefik's answer for an unknown route, 404.
const hostRouter = `
const http = require('node:http');
const { promises: dns } = require('node:dns');
http.createServer(async (req, res) => {
  if ((req.headers.host || '').split(':')[0] !== process.env.ROUTE_HOST) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\\n');
    return;
  }
  try {
    const addresses = await dns.resolve4('tasks.' + process.env.TARGET);
    const address = addresses[Math.floor(Math.random() * addresses.length)];
    const upstream = http.request({ host: address, port: 8080, path: req.url, method: req.method, headers: req.headers, timeout: 5000 }, (r) => {
      res.writeHead(r.statusCode || 502, r.headers);
      r.pipe(res);
    });
    upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
    upstream.on('error', (e) => { if (!res.headersSent) res.writeHead(502).end('bad gateway: ' + e.message + '\\n'); });
    req.pipe(upstream);
  } catch (e) {
    res.writeHead(502).end('bad gateway: ' + e.message + '\\n');
  }
}).listen(8080);
`;

let routerUrl: string;
let brokenUrl: string;

async function createService(name: string, args: string[]): Promise<void> {
  await docker(
    'service',
    'create',
    '--detach',
    '--name',
    name,
    '--network',
    network,
    '--label',
    'swarm-deploy.lab=test',
    ...args,
  );
}

/** The action's entry as the runner runs it (every action.yml default applied), in this process. */
async function step(values: Record<string, string>) {
  const started = Date.now();
  const result = stepView(
    await runActionInProcess({ action: 'actions/verify-health', with: values, run: () => verifyHealthStep.main() }),
  );
  return { ...result, elapsedMs: Date.now() - started };
}

beforeAll(async () => {
  await docker('network', 'create', '--driver', 'overlay', '--attachable', '--label', 'swarm-deploy.lab=test', network);
  const routerPort = await freePort();
  const brokenPort = await freePort();
  await createService(`${client}-app`, ['--replicas', '2', good]);
  await createService(`${client}-router`, [
    '--publish',
    `mode=host,target=8080,published=${routerPort}`,
    '--env',
    `TARGET=${client}-app`,
    '--env',
    `ROUTE_HOST=${routedHost}`,
    good,
    '/usr/bin/node',
    '-e',
    hostRouter,
  ]);
  // The broken release is probed on its own published port: nothing in front of it.
  await createService(`${client}-broken`, ['--publish', `mode=host,target=8080,published=${brokenPort}`, broken]);
  routerUrl = `http://127.0.0.1:${routerPort}`;
  brokenUrl = `http://127.0.0.1:${brokenPort}`;

  const status = (url: string) => fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.status);
  // Ready when the router answers its unknown-route 404 and the routed app its version.
  await eventually(
    'the router',
    () => status(`${routerUrl}/version`),
    (s) => s === 404,
    120_000,
  );
  await eventually(
    'the app behind the router',
    () => step({ url: `${routerUrl}/version`, 'host-header': routedHost, consecutive: '1', timeout: '3s' }),
    (r) => r.outputs.get('healthy') === 'true',
    120_000,
  );
  await eventually(
    'the broken release',
    () => status(`${brokenUrl}/version`),
    (s) => s === 500,
    120_000,
  );
}, 300_000);

afterAll(async () => {
  for (const name of [`${client}-router`, `${client}-app`, `${client}-broken`]) {
    await docker('service', 'rm', name).catch(() => undefined);
  }
  // The network can go once the tasks have stopped.
  await eventually(
    'the tasks to stop',
    () => docker('ps', '-a', '--filter', `name=${client}-`, '--format', '{{.Names}}'),
    (names) => names === '',
    60_000,
  ).catch(() => undefined);
  await docker('network', 'rm', network).catch(() => undefined);
}, 120_000);

describe('verify-health against the lab swarm', () => {
  it('passes for the right version served behind a router, reached with host-header', async () => {
    const result = await step({
      url: `${routerUrl}/version`,
      'host-header': routedHost,
      'expected-version': goodVersion,
      consecutive: '3',
      interval: '200ms',
      timeout: '30s',
      headers: 'Authorization: Bearer lab-t0ken-value',
    });
    expect(result.failure).toBeUndefined();
    expect(result.outputs.get('healthy')).toBe('true');
    expect(result.outputs.get('served-version')).toBe(goodVersion);
    expect(result.outputs.get('checks')).toBe('3');
    expect(result.outputs.get('error-rate')).toBe('0');
    expect(Number(result.outputs.get('p95-ms'))).toBeGreaterThanOrEqual(0);
    expect(result.log.text()).not.toContain('lab-t0ken-value');
    expect(result.log.summaries[0]).toMatch(/✅ healthy/);
  });

  it('holds a traffic window through the router and reports its statistics', async () => {
    const result = await step({
      url: `${routerUrl}/`,
      'host-header': routedHost,
      'expected-body': `"version":"${goodVersion}"`,
      consecutive: '2',
      interval: '100ms',
      window: '2s',
      'max-error-rate': '0',
      'max-p95-ms': '1000',
      timeout: '30s',
    });
    expect(result.failure).toBeUndefined();
    expect(Number(result.outputs.get('checks'))).toBeGreaterThan(8);
    expect(Number(result.outputs.get('p50-ms'))).toBeLessThanOrEqual(Number(result.outputs.get('p95-ms')));
  });

  it('without the host header the router has no route: fails with the 404 it saw', async () => {
    const result = await step({
      url: `${routerUrl}/version`,
      'expected-version': goodVersion,
      timeout: '3s',
      interval: '500ms',
    });
    expect(result.outputs.get('healthy')).toBe('false');
    expect(result.failure).toMatch(/HTTP 404 \(expected 200\); body: "404 page not found"/);
  });

  it('fails for a wrong version, naming the version served', async () => {
    const result = await step({
      url: `${routerUrl}/version`,
      'host-header': routedHost,
      'expected-version': 'ffffff1',
      timeout: '4s',
      interval: '500ms',
    });
    expect(result.outputs.get('healthy')).toBe('false');
    expect(result.outputs.get('served-version')).toBe(goodVersion);
    expect(result.failure, result.failure).toContain(`serves version "${goodVersion}", expected "ffffff1"`);
  });

  it('fails a release that is healthy to Docker but answers 500, with the status in the reason', async () => {
    const containers = (await docker('ps', '--filter', `name=${client}-broken`, '--format', '{{.ID}}'))
      .split('\n')
      .filter(Boolean);
    expect(containers.length).toBeGreaterThan(0);
    await eventually(
      'Docker to call the broken release healthy',
      () => docker('inspect', '--format', '{{.State.Health.Status}}', containers[0] as string),
      (health) => health === 'healthy',
      60_000,
    );
    const result = await step({ url: `${brokenUrl}/version`, timeout: '4s', interval: '500ms' });
    expect(result.outputs.get('healthy')).toBe('false');
    expect(result.failure).toMatch(/HTTP 500 \(expected 200\)/);
    expect(result.outputs.get('error-rate')).toBe('1');
  });

  it('stops at its timeout, whatever the request timeout and interval', async () => {
    const result = await step({
      url: `${brokenUrl}/version`,
      timeout: '3s',
      'request-timeout': '30s',
      interval: '30s',
      consecutive: '5',
    });
    expect(result.outputs.get('healthy')).toBe('false');
    expect(result.failure).toMatch(/^verify-health: not healthy within 3s \(0 of 5 checks in a row passed\)/);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(2500);
    // Far below the 30 s of one request timeout or one interval, with room for a loaded machine.
    expect(result.elapsedMs).toBeLessThan(3000 + 15_000);
  });

  it('stops at its timeout against an endpoint that accepts and never answers', async () => {
    const { createServer } = await import('node:net');
    // A loopback listener that accepts connections and says nothing: only the deadline ends the wait.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const result = await step({ url: `http://127.0.0.1:${port}/`, timeout: '2s', 'request-timeout': '60s' });
      expect(result.failure).toMatch(/not healthy within 2s .*no response within \d+ ms/);
      // Far below the 60 s request timeout, with room for a loaded machine.
      expect(result.elapsedMs).toBeLessThan(2000 + 15_000);
    } finally {
      silent.close();
    }
  });
});
