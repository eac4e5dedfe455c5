import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runActionInProcess, stepView } from '../support/action-harness.js';
import { action as notifyStep } from '../../src/actions/notify-discord/main.js';
import { LIMITS, embedLength, type Embed } from '../../src/notify/limits.js';

// A local receiver shaped like Discord's webhook API (execute with ?wait=true, edit a message,
// 429 with retry_after, 404 Unknown Webhook, 400 50035 over a limit), driven by the real action
// over real HTTP on loopback.
const WEBHOOK_ID = '223344556677889900';
const TOKEN = 'lab-Receiver_T0ken-abcdefghijklmnop';

interface StoredMessage {
  id: string;
  content?: string;
  embeds: Embed[];
  edits: number;
  threadId?: string;
}

interface Receiver {
  messages: Map<string, StoredMessage>;
  requests: { method: string; path: string; query: Record<string, string> }[];
  /** Answer the next N requests with 429. */
  rateLimitNext: number;
}

const receiver: Receiver = { messages: new Map(), requests: [], rateLimitNext: 0 };
let server: http.Server;
let base: string;
let sequence = 0n;

function snowflake(): string {
  sequence += 1n;
  return (((BigInt(Date.now()) - 1_420_070_400_000n) << 22n) | (sequence & 0xfffn)).toString();
}

function tooLong(body: { content?: string; embeds?: Embed[] }): string | undefined {
  if ((body.content ?? '').length > LIMITS.content) return 'content';
  let total = 0;
  for (const [i, e] of (body.embeds ?? []).entries()) {
    if ((e.title ?? '').length > LIMITS.title) return `embeds.${i}.title`;
    if ((e.description ?? '').length > LIMITS.description) return `embeds.${i}.description`;
    if ((e.fields ?? []).length > LIMITS.fields) return `embeds.${i}.fields`;
    for (const [j, f] of (e.fields ?? []).entries()) {
      if (f.name.length > LIMITS.fieldName || f.value.length > LIMITS.fieldValue) return `embeds.${i}.fields.${j}`;
    }
    total += embedLength(e);
  }
  return total > LIMITS.total ? 'embeds' : undefined;
}

function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
  const url = new URL(req.url ?? '/', 'http://receiver');
  receiver.requests.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams) });
  const json = (status: number, value: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
  };
  const m = /^\/api\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/(\d+))?$/.exec(url.pathname);
  if (!m || m[1] !== WEBHOOK_ID || m[2] !== TOKEN) return json(404, { message: 'Unknown Webhook', code: 10015 });
  if (receiver.rateLimitNext > 0) {
    receiver.rateLimitNext -= 1;
    return json(
      429,
      { message: 'You are being rate limited.', retry_after: 0.3, global: false },
      { 'retry-after': '1' },
    );
  }
  const body = JSON.parse(raw) as { content?: string; embeds?: Embed[]; allowed_mentions?: unknown };
  const field = tooLong(body);
  if (field) {
    return json(400, {
      code: 50035,
      message: 'Invalid Form Body',
      errors: { [field]: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be fewer in length.' }] } },
    });
  }
  if (req.method === 'POST') {
    const message: StoredMessage = { id: snowflake(), embeds: body.embeds ?? [], edits: 0 };
    if (body.content !== undefined) message.content = body.content;
    const thread = url.searchParams.get('thread_id');
    if (thread) message.threadId = thread;
    receiver.messages.set(message.id, message);
    // Without ?wait=true Discord answers 204 with no message: the action must ask for it.
    if (url.searchParams.get('wait') !== 'true') {
      res.writeHead(204).end();
      return;
    }
    return json(200, { id: message.id, channel_id: '1', content: message.content ?? '', embeds: message.embeds });
  }
  if (req.method === 'PATCH' && m[3]) {
    const message = receiver.messages.get(m[3]);
    if (!message) return json(404, { message: 'Unknown Message', code: 10008 });
    if (body.embeds) message.embeds = body.embeds;
    message.edits += 1;
    return json(200, { id: message.id, channel_id: '1', embeds: message.embeds });
  }
  return json(405, { message: '405: Method Not Allowed', code: 0 });
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => handle(req, res, raw));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  receiver.messages.clear();
  receiver.requests.length = 0;
  receiver.rateLimitNext = 0;
});

const env = {
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/api',
  GITHUB_RUN_ID: '9001',
  GITHUB_ACTOR: 'octocat',
};

/** The action's entry as the runner runs it (every action.yml default applied), in this process. */
async function step(values: Record<string, string>, webhookUrl = `${base}/api/webhooks/${WEBHOOK_ID}/${TOKEN}`) {
  const result = stepView(
    await runActionInProcess({
      action: 'actions/notify-discord',
      with: { 'webhook-url': webhookUrl, ...values },
      run: () => notifyStep.main({ deps: { env } }),
    }),
  );
  expect([result.log.text(), result.failure ?? '', ...result.outputs.values()].join('\n')).not.toContain(TOKEN);
  expect(result.result.leaks).toEqual([]);
  return result;
}

const facts = { client: 'acme', service: 'api', version: 'abc1234', environment: 'production' };

describe('notify-discord against a local Discord-shaped receiver', () => {
  it('posts started, then the final status edits the same message', async () => {
    const started = await step({ ...facts, status: 'started' });
    expect(started.failure).toBeUndefined();
    const id = started.outputs.get('message-id') ?? '';
    expect(receiver.messages.get(id)?.embeds[0]?.title).toBe('🚀 acme/api abc1234: deploying (production)');
    expect(receiver.requests[0]).toMatchObject({ method: 'POST', query: { wait: 'true' } });

    const done = await step({ ...facts, status: 'success', 'message-id': id });
    expect(done.failure).toBeUndefined();
    expect(done.outputs.get('message-id')).toBe(id);
    expect(receiver.messages.size).toBe(1);
    const message = receiver.messages.get(id);
    expect(message?.edits).toBe(1);
    expect(message?.embeds[0]).toMatchObject({ title: '✅ acme/api abc1234: deployed (production)', color: 0x2ecc71 });
    expect(message?.embeds[0]?.fields?.map((f) => f.name)).toEqual([
      'Client',
      'Service',
      'Version',
      'Environment',
      'Duration',
      'Actor',
    ]);
    expect(receiver.requests[1]).toMatchObject({
      method: 'PATCH',
      path: `/api/webhooks/${WEBHOOK_ID}/${TOKEN}/messages/${id}`,
    });
  });

  it('a rolled-back release with a mention edits the message and pings in a follow-up', async () => {
    const id = (await step({ ...facts, status: 'started' })).outputs.get('message-id') ?? '';
    const done = await step({
      ...facts,
      status: 'rolled-back',
      reason: 'verify-health: HTTP 500 (expected 200)',
      'mention-on-failure': '<@&112233445566778899>',
      'message-id': id,
    });
    expect(done.failure).toBeUndefined();
    expect(receiver.messages.get(id)?.embeds[0]?.description).toMatch(/^verify-health: HTTP 500 \(expected 200\)/);
    const followUp = [...receiver.messages.values()].find((m) => m.id !== id);
    expect(followUp?.content).toBe('<@&112233445566778899>');
  });

  it('waits out a real 429 and delivers', async () => {
    receiver.rateLimitNext = 1;
    const started = Date.now();
    const result = await step({ ...facts, status: 'success' });
    expect(result.failure).toBeUndefined();
    expect(receiver.messages.size).toBe(1);
    expect(receiver.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('oversized input arrives within every limit (the receiver would answer 400 50035 otherwise)', async () => {
    const result = await step({
      status: 'failure',
      client: 'c'.repeat(2000),
      service: 's'.repeat(2000),
      version: 'v'.repeat(2000),
      environment: 'e'.repeat(2000),
      reason: 'r'.repeat(50_000),
      'fail-on-error': 'true',
    });
    expect(result.failure).toBeUndefined();
    expect(receiver.messages.size).toBe(1);
  });

  it('a webhook that is gone is a warning, and the step succeeds', async () => {
    const { failure, log } = await step({ status: 'success' }, `${base}/api/webhooks/${WEBHOOK_ID}/deleted-${TOKEN}`);
    expect(failure).toBeUndefined();
    expect(log.warnings[0]?.message).toMatch(/webhook no longer exists \(HTTP 404 \(code 10015\): Unknown Webhook\)/);
    expect(log.text()).not.toContain(TOKEN);
    expect(receiver.requests).toHaveLength(1);
  });
});
