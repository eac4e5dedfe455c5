import * as http from 'node:http';
import * as https from 'node:https';

/** One HTTP request to check, as the loop asks for it. */
export interface ProbeRequest {
  url: string;
  /** Sent as `Host` (and as TLS SNI for https) so a router's rule matches while we dial its address. */
  hostHeader?: string | undefined;
  /** Extra request headers (authentication); never logged. */
  headers?: Readonly<Record<string, string>>;
  timeoutMs: number;
}

/** What came back: a response, or the error that stood in for one. Durations are wall-clock ms. */
export interface ProbeResult {
  url: string;
  durationMs: number;
  status?: number;
  headers?: Readonly<Record<string, string>>;
  /** The body's first bytes, as text (see MAX_BODY_BYTES). */
  body?: string;
  /** Set when no response arrived: refused, reset, DNS, TLS, or the request timeout. */
  error?: string;
}

export type Probe = (request: ProbeRequest) => Promise<ProbeResult>;

/** Enough for a version string, a JSON health document or an error page excerpt. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * One GET with Node's own http/https client. `fetch` cannot be used: it forbids setting `Host`,
 * which is exactly what reaching a Traefik route through a load balancer address needs.
 * Never throws: every failure becomes `error` so the loop can judge it like a bad status.
 */
export const httpProbe: Probe = (request) =>
  new Promise<ProbeResult>((resolve) => {
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
    let settled = false;
    // Set once the request starts; a URL that does not parse finishes before there is one.
    const timers: { request?: NodeJS.Timeout } = {};
    const finish = (result: Omit<ProbeResult, 'url' | 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timers.request);
      resolve({ url: request.url, durationMs: elapsed(), ...result });
    };

    let target: URL;
    try {
      target = new URL(request.url);
    } catch {
      finish({ error: 'not a valid URL' });
      return;
    }
    const client = target.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = {
      'user-agent': 'swarm-deploy-verify-health',
      accept: '*/*',
      ...request.headers,
    };
    if (request.hostHeader) headers.host = request.hostHeader;
    const options: https.RequestOptions = { method: 'GET', headers, agent: false };
    // The certificate behind a router belongs to the routed host name, not to the address dialled.
    if (client === https && request.hostHeader) options.servername = request.hostHeader.replace(/:\d+$/, '');

    // One timer covers connect, headers and body: a server that trickles its body still times out.
    timers.request = setTimeout(() => {
      req.destroy();
      finish({ error: `no response within ${request.timeoutMs} ms` });
    }, request.timeoutMs);

    const req = client.request(target, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size >= MAX_BODY_BYTES) return;
        chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => {
        finish({
          status: res.statusCode ?? 0,
          headers: flattenHeaders(res.headers),
          body: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8'),
        });
      });
      res.on('error', (error) => finish({ error: describeError(error) }));
    });
    req.on('error', (error) => finish({ error: describeError(error) }));
    req.end();
  });

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    result[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return result;
}

function describeError(error: Error & { code?: string }): string {
  if (error.code === 'ECONNREFUSED') return 'connection refused';
  if (error.code === 'ECONNRESET') return 'connection reset';
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return 'host name not found';
  return error.code ? `${error.code}: ${error.message}` : error.message;
}
