// The lab's test application: a tiny HTTP service whose behaviour is baked into its image.
// APP_VERSION is served on /version (plain text) and in X-Version; APP_MODE picks a failure:
//   ok        healthy, serves 200
//   crash     exits with code 3 shortly after start (a crashing release)
//   unhealthy runs, but its Docker healthcheck endpoint /alive answers 500
//   http500   healthy to Docker (/alive 200) but the application answers 500 on /health and /
import http from 'node:http';
import { readFileSync } from 'node:fs';

const version = process.env.APP_VERSION ?? 'dev';
const mode = process.env.APP_MODE ?? 'ok';
const port = Number(process.env.PORT ?? 8080);

if (mode === 'crash') {
  console.error(`fatal: cannot start version ${version}: missing configuration DATABASE_URL`);
  setTimeout(() => process.exit(3), 300);
} else {
  const secretsDir = '/run/secrets';
  const server = http.createServer((req, res) => {
    const headers = { 'content-type': 'text/plain', 'x-version': version, connection: 'close' };
    const url = req.url ?? '/';
    if (url === '/alive') {
      res.writeHead(mode === 'unhealthy' ? 500 : 200, headers).end(mode === 'unhealthy' ? 'sick\n' : 'ok\n');
    } else if (url === '/version') {
      res.writeHead(mode === 'http500' ? 500 : 200, headers).end(`${version}\n`);
    } else if (url.startsWith('/secret/')) {
      // Lets tests read a mounted secret back (the lab app only; never do this in a real service).
      try {
        res.writeHead(200, headers).end(readFileSync(`${secretsDir}/${url.slice(8).replace(/[^A-Za-z0-9_.-]/g, '')}`));
      } catch {
        res.writeHead(404, headers).end('no such secret\n');
      }
    } else if (mode === 'http500') {
      res.writeHead(500, headers).end('internal error\n');
    } else {
      res
        .writeHead(200, { ...headers, 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'ok', version }) + '\n');
    }
  });
  server.listen(port, () => console.log(`lab app ${version} (${mode}) listening on ${port}`));
  // Graceful stop: keep serving while the router learns the task is going, then drain and exit.
  process.on('SIGTERM', () => {
    console.log('SIGTERM: draining');
    setTimeout(() => server.close(() => process.exit(0)), Number(process.env.DRAIN_MS ?? 1500));
  });
}
