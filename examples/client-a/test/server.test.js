import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { server } from '../src/server.js';

const listening = new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => server.close());

async function get(path) {
  await listening;
  const { port } = server.address();
  return fetch(`http://127.0.0.1:${port}${path}`);
}

test('/health answers ok with the version', async () => {
  const res = await get('/health');
  assert.equal(res.status, 200);
  assert.equal((await res.json()).status, 'ok');
  assert.ok(res.headers.get('x-version'));
});

test('/version answers the git sha as plain text', async () => {
  const res = await get('/version');
  assert.equal(res.status, 200);
  assert.equal((await res.text()).trim(), process.env.GIT_SHA || 'unknown');
});

test('an unknown item is a 404', async () => {
  assert.equal((await get('/api/items/999')).status, 404);
});
