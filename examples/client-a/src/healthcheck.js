// The container's HEALTHCHECK: no curl or wget in the image, so Node asks /health itself.
import { request } from 'node:http';

const req = request(
  { host: '127.0.0.1', port: Number(process.env.PORT || 8080), path: '/health', timeout: 2_000 },
  (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  },
);
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
req.end();
