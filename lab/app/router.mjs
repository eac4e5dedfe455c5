// The lab's stand-in for the shared Traefik: an HTTP proxy on the client's overlay network that
// sends each request to one of the tasks of TARGET (`tasks.<service>` DNS: the lab has no IPVS, so
// no service VIP), retrying another task when a connection is refused, as an edge router would.
import http from 'node:http';
import { promises as dns } from 'node:dns';

const target = process.env.TARGET;
const targetPort = Number(process.env.TARGET_PORT ?? 8080);
const port = Number(process.env.PORT ?? 8080);
let cache = { at: 0, addresses: [] };

async function addresses() {
  if (Date.now() - cache.at > 300) {
    try {
      cache = { at: Date.now(), addresses: await dns.resolve4(`tasks.${target}`) };
    } catch {
      cache = { at: Date.now(), addresses: [] };
    }
  }
  return cache.addresses;
}

function forward(req, body, address) {
  return new Promise((resolve, reject) => {
    const upstream = http.request(
      {
        host: address,
        port: targetPort,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, connection: 'close' },
        timeout: 5000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
    upstream.on('error', reject);
    upstream.end(body);
  });
}

http
  .createServer(async (req, res) => {
    // The router's own liveness (its Docker healthcheck) must not depend on the service behind it.
    if (req.url === '/alive') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    let lastError = 'no task of the service is running';
    for (let attempt = 0; attempt < 4; attempt++) {
      const list = await addresses();
      if (list.length === 0) {
        await new Promise((r) => setTimeout(r, 200));
        cache.at = 0;
        continue;
      }
      const address = list[Math.floor(Math.random() * list.length)];
      try {
        const answer = await forward(req, body, address);
        res.writeHead(answer.status, { ...answer.headers, 'x-upstream': address }).end(answer.body);
        return;
      } catch (error) {
        lastError = String(error);
        cache.at = 0;
      }
    }
    res.writeHead(502, { 'content-type': 'text/plain' }).end(`bad gateway: ${lastError}\n`);
  })
  .listen(port, () => console.log(`router for ${target} on ${port}`));
