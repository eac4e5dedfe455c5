// A small REST API with the endpoints the deploy pipeline relies on:
//   GET /health   200 {"status":"ok","version":…} once started, 503 while shutting down
//   GET /version  the git sha the image was built from (plain text)
//   GET /api/items, GET /api/items/:id   the service itself
// Every response carries X-Version, so verify-health can check the version on any path.
import { createServer } from 'node:http';

const version = process.env.GIT_SHA || 'unknown';
const port = Number(process.env.PORT || 8080);

const items = [
  { id: 1, name: 'first item' },
  { id: 2, name: 'second item' },
];

let shuttingDown = false;

function send(res, status, body) {
  const json = typeof body === 'string' ? undefined : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': json === undefined ? 'text/plain; charset=utf-8' : 'application/json',
    'x-version': version,
    'cache-control': 'no-store',
  });
  res.end(json ?? body);
}

export function handle(req, res) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
  if (url.pathname === '/health') {
    // While draining, answer 503 so the router stops sending new requests here.
    return shuttingDown ? send(res, 503, { status: 'stopping', version }) : send(res, 200, { status: 'ok', version });
  }
  if (url.pathname === '/version') return send(res, 200, `${version}\n`);
  if (url.pathname === '/api/items') return send(res, 200, items);
  const match = /^\/api\/items\/(\d+)$/.exec(url.pathname);
  if (match) {
    const item = items.find((i) => i.id === Number(match[1]));
    return item ? send(res, 200, item) : send(res, 404, { error: 'not found' });
  }
  return send(res, 404, { error: 'not found' });
}

export const server = createServer(handle);
// Longer than the router's idle timeout would be pointless; shorter cuts keep-alive clients mid-request.
server.keepAliveTimeout = 65_000;

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  server.listen(port, () => console.log(`client-a ${version} listening on ${port}`));

  // Swarm sends SIGTERM, waits stop_grace_period, then SIGKILL. Stop accepting, finish what is in
  // flight, then exit, so a rolling update drops no request.
  const stop = (signal) => {
    if (shuttingDown) return;
    shuttingDown = true;
    console.log(`${signal}: draining`);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 8_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
