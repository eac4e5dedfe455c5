import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { httpProbe, MAX_BODY_BYTES } from '../../../src/health/probe.js';

// This file probes a server it starts itself on loopback; nothing leaves the machine.
nock.enableNetConnect('127.0.0.1');

const seen: http.IncomingHttpHeaders[] = [];
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === '/version') {
      res.setHeader('x-version', 'hdr-1');
      res.end('abc1234\n');
    } else if (req.url === '/host') {
      res.statusCode = req.headers.host === 'app.example.com' ? 200 : 404;
      res.end(`host=${req.headers.host}`);
    } else if (req.url === '/big') {
      res.end('x'.repeat(MAX_BODY_BYTES * 3));
    } else if (req.url === '/hang') {
      res.writeHead(200);
      res.write('partial'); // and never end: the timeout must still fire
    } else {
      res.statusCode = 500;
      res.end('Internal Server Error');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  nock.disableNetConnect();
});

describe('httpProbe', () => {
  test('reads status, headers and body', async () => {
    const result = await httpProbe({ url: `${base}/version`, timeoutMs: 2000 });
    expect(result).toMatchObject({ url: `${base}/version`, status: 200, body: 'abc1234\n' });
    expect(result.headers?.['x-version']).toBe('hdr-1');
    expect(result.error).toBeUndefined();
    expect(result.durationMs).toBeGreaterThan(0);
  });

  test('sends the host header and the extra headers', async () => {
    const result = await httpProbe({
      url: `${base}/host`,
      hostHeader: 'app.example.com',
      headers: { authorization: 'Bearer t0k3n' },
      timeoutMs: 2000,
    });
    expect(result.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ host: 'app.example.com', authorization: 'Bearer t0k3n' });
  });

  test('without a host header the router does not match', async () => {
    expect((await httpProbe({ url: `${base}/host`, timeoutMs: 2000 })).status).toBe(404);
  });

  test('a 500 is a response, not an error', async () => {
    expect(await httpProbe({ url: `${base}/boom`, timeoutMs: 2000 })).toMatchObject({
      status: 500,
      body: 'Internal Server Error',
    });
  });

  test('keeps only the first bytes of a large body', async () => {
    const result = await httpProbe({ url: `${base}/big`, timeoutMs: 5000 });
    expect(result.body?.length).toBe(MAX_BODY_BYTES);
  });

  test('a body that never ends times out within the request timeout', async () => {
    const started = Date.now();
    const result = await httpProbe({ url: `${base}/hang`, timeoutMs: 300 });
    expect(result.error).toBe('no response within 300 ms');
    expect(result.status).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1500);
  });

  test('a closed port is connection refused', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await httpProbe({ url: `http://127.0.0.1:${port}/`, timeoutMs: 2000 })).toMatchObject({
      error: 'connection refused',
    });
  });

  test('an invalid URL is an error result, not a throw', async () => {
    expect(await httpProbe({ url: 'not a url', timeoutMs: 100 })).toMatchObject({ error: 'not a valid URL' });
  });
});
