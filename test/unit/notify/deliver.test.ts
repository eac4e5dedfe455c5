import nock from 'nock';
import { afterEach, describe, expect, test } from 'vitest';
import { MemoryLog } from '../../support/memory-log.js';
import { deliver, flattenErrors, MAX_RESPONSE_BYTES } from '../../../src/notify/deliver.js';
import type { WebhookPayload } from '../../../src/notify/limits.js';
import { parseWebhookUrl } from '../../../src/notify/webhook-url.js';
import { FakeClock } from '../../support/clock.js';

const TOKEN = 'w3bh00k-T0ken_abcdef';
const HOOK = `/api/webhooks/123456789012345678/${TOKEN}`;
const webhook = parseWebhookUrl(`https://discord.com${HOOK}`);
const payload: WebhookPayload = { embeds: [{ title: 'hello' }], allowed_mentions: { parse: [] } };
const MSG = '1234567890123456789';

function setup() {
  const clock = new FakeClock();
  const sleeps: number[] = [];
  const sleep = clock.sleep.bind(clock);
  clock.sleep = async (ms) => {
    sleeps.push(ms);
    await sleep(ms);
  };
  const log = new MemoryLog();
  return { clock, sleeps, log, options: { log, clock, random: () => 0.5, deadlineMs: 30_000 } };
}

afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

describe('deliver', () => {
  test('posts with ?wait=true and returns the message id', async () => {
    const { options } = setup();
    let body: unknown;
    nock('https://discord.com')
      .post(HOOK, (b) => ((body = b), true))
      .query({ wait: 'true' })
      .reply(200, { id: MSG, channel_id: '1' });
    expect(await deliver(webhook, { payload }, options)).toEqual({ ok: true, messageId: MSG, edited: false });
    expect(body).toEqual(payload);
  });

  test('429: waits retry_after, then succeeds', async () => {
    const { options, sleeps } = setup();
    nock('https://discord.com')
      .post(HOOK)
      .query({ wait: 'true' })
      .reply(429, { message: 'You are being rate limited.', retry_after: 1.25, global: false }, { 'retry-after': '2' })
      .post(HOOK)
      .query({ wait: 'true' })
      .reply(200, { id: MSG });
    expect(await deliver(webhook, { payload }, options)).toMatchObject({ ok: true, messageId: MSG });
    expect(sleeps).toEqual([1250]);
  });

  test('429 without a body: waits the Retry-After header', async () => {
    const { options, sleeps } = setup();
    nock('https://discord.com')
      .post(HOOK)
      .query(true)
      .reply(429, 'slow down', { 'retry-after': '3' })
      .post(HOOK)
      .query(true)
      .reply(200, { id: MSG });
    expect(await deliver(webhook, { payload }, options)).toMatchObject({ ok: true });
    expect(sleeps).toEqual([3000]);
  });

  test('429 for longer than the deadline: gives up without waiting past it', async () => {
    const { options, sleeps } = setup();
    nock('https://discord.com').post(HOOK).query(true).reply(429, { message: 'rate limited', retry_after: 60 });
    const result = await deliver(webhook, { payload }, options);
    expect(result).toMatchObject({ ok: false, problem: 'rate-limited' });
    expect(sleeps).toEqual([]);
  });

  test('5xx is retried with backoff', async () => {
    const { options, sleeps } = setup();
    nock('https://discord.com')
      .post(HOOK)
      .query(true)
      .reply(502, 'bad gateway')
      .post(HOOK)
      .query(true)
      .reply(200, { id: MSG });
    expect(await deliver(webhook, { payload }, options)).toMatchObject({ ok: true });
    expect(sleeps).toEqual([500]); // full jitter: 0.5 × 1000 ms
  });

  test('400 code 50035 is reported with the fields Discord names, and not retried', async () => {
    const { options, sleeps } = setup();
    nock('https://discord.com')
      .post(HOOK)
      .query(true)
      .reply(400, {
        code: 50035,
        message: 'Invalid Form Body',
        errors: {
          embeds: {
            '0': { title: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 256 or fewer in length.' }] } },
          },
        },
      });
    const result = await deliver(webhook, { payload }, options);
    expect(result).toEqual({
      ok: false,
      problem: 'rejected',
      message:
        'Discord rejected the message (HTTP 400 (code 50035): Invalid Form Body — embeds.0.title: Must be 256 or fewer in length.)',
    });
    expect(sleeps).toEqual([]);
  });

  test('404: the webhook is gone; stop at once', async () => {
    const { options, sleeps } = setup();
    nock('https://discord.com').post(HOOK).query(true).reply(404, { message: 'Unknown Webhook', code: 10015 });
    const result = await deliver(webhook, { payload }, options);
    expect(result).toMatchObject({ ok: false, problem: 'gone' });
    expect(result.ok ? '' : result.message).toMatch(/no longer exists \(HTTP 404 \(code 10015\): Unknown Webhook\)/);
    expect(sleeps).toEqual([]);
  });

  test('message-id: edits that message with PATCH', async () => {
    const { options } = setup();
    let body: unknown;
    nock('https://discord.com')
      .patch(`${HOOK}/messages/${MSG}`, (b) => ((body = b), true))
      .reply(200, { id: MSG });
    expect(await deliver(webhook, { payload, messageId: MSG }, options)).toEqual({
      ok: true,
      messageId: MSG,
      edited: true,
    });
    expect(body).toEqual({ embeds: payload.embeds, allowed_mentions: { parse: [] } });
  });

  test('message-id of a deleted message: posts a new one', async () => {
    const { options, log } = setup();
    nock('https://discord.com')
      .patch(`${HOOK}/messages/${MSG}`)
      .reply(404, { message: 'Unknown Message', code: 10008 })
      .post(HOOK)
      .query({ wait: 'true' })
      .reply(200, { id: '999999999999999999' });
    expect(await deliver(webhook, { payload, messageId: MSG }, options)).toEqual({
      ok: true,
      messageId: '999999999999999999',
      edited: false,
    });
    expect(log.warnings[0]?.message).toMatch(/no longer exists; posting a new one/);
  });

  test('an edit that must ping sends the mention in a follow-up (edits never ping)', async () => {
    const { options } = setup();
    const pinging: WebhookPayload = {
      ...payload,
      content: '<@&111111111111111111>',
      allowed_mentions: { parse: [], roles: ['111111111111111111'] },
    };
    let edit: unknown;
    let followUp: unknown;
    nock('https://discord.com')
      .patch(`${HOOK}/messages/${MSG}`, (b) => ((edit = b), true))
      .reply(200, { id: MSG })
      .post(HOOK, (b) => ((followUp = b), true))
      .query({ wait: 'true' })
      .reply(200, { id: '777777777777777777' });
    const result = await deliver(webhook, { payload: pinging, messageId: MSG }, options);
    expect(result).toEqual({ ok: true, messageId: MSG, edited: true, followUpId: '777777777777777777' });
    expect(edit).toEqual({ embeds: payload.embeds, allowed_mentions: { parse: [] } });
    expect(followUp).toEqual({
      content: '<@&111111111111111111>',
      allowed_mentions: { parse: [], roles: ['111111111111111111'] },
    });
  });

  test('thread_id goes in the query of a post and of an edit', async () => {
    const { options } = setup();
    nock('https://discord.com')
      .post(HOOK)
      .query({ wait: 'true', thread_id: '555555555555555555' })
      .reply(200, { id: MSG })
      .patch(`${HOOK}/messages/${MSG}`)
      .query({ thread_id: '555555555555555555' })
      .reply(200, { id: MSG });
    expect(await deliver(webhook, { payload, threadId: '555555555555555555' }, options)).toMatchObject({ ok: true });
    expect(await deliver(webhook, { payload, threadId: '555555555555555555', messageId: MSG }, options)).toMatchObject({
      ok: true,
      edited: true,
    });
  });

  test('a forum post (thread_name) is edited inside the thread that has the message id', async () => {
    const { options } = setup();
    let body: unknown;
    nock('https://discord.com')
      .post(HOOK, (b) => ((body = b), true))
      .query({ wait: 'true' })
      .reply(200, { id: MSG, channel_id: MSG })
      .patch(`${HOOK}/messages/${MSG}`)
      .query({ thread_id: MSG })
      .reply(200, { id: MSG });
    const forum = { ...payload, thread_name: 'acme deploys' };
    expect(await deliver(webhook, { payload: forum }, options)).toMatchObject({ ok: true });
    expect(body).toMatchObject({ thread_name: 'acme deploys' });
    expect(await deliver(webhook, { payload: forum, messageId: MSG }, options)).toMatchObject({
      ok: true,
      edited: true,
    });
  });

  test.each([301, 302, 307, 308])('a %i redirect is not followed with the payload, nor retried', async (status) => {
    const { options } = setup();
    let received = 0;
    const elsewhere = nock('https://collector.example')
      .post(/.*/)
      .query(true)
      .reply(200, () => {
        received++;
        return { id: '1' };
      });
    nock('https://discord.com')
      .post(HOOK)
      .query(true)
      .reply(status, '', { location: 'https://collector.example/hook' });
    const result = await deliver(webhook, { payload }, options);
    expect(result).toMatchObject({ ok: false, problem: 'failed' });
    expect(result.ok ? '' : result.message).toBe(
      `Discord answered HTTP ${status}: Discord answered with a redirect; it is not followed, and the message was not sent`,
    );
    expect(received).toBe(0);
    expect(elsewhere.isDone()).toBe(false);
    nock.cleanAll();
  });

  test('an endless answer is read no further than the cap', async () => {
    const { options } = setup();
    let produced = 0;
    // An answer that never ends (nock buffers a reply whole, so this one is a Response of its own).
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        produced += 16 * 1024;
        controller.enqueue(new Uint8Array(16 * 1024).fill(97));
      },
    });
    const fetchEndless = (async () => new Response(endless, { status: 200 })) as typeof fetch;
    const result = await deliver(webhook, { payload }, { ...options, fetch: fetchEndless });
    expect(result).toMatchObject({ ok: false, problem: 'failed' });
    expect(result.ok ? '' : result.message).toContain(`larger than ${MAX_RESPONSE_BYTES} bytes`);
    // Read up to the cap (and what the stream had queued), never to the end.
    expect(produced).toBeLessThan(MAX_RESPONSE_BYTES * 2);
  });

  test('an error answer is read bounded too: a huge body is not read whole', async () => {
    const { options } = setup();
    nock('https://discord.com')
      .post(HOOK)
      .query(true)
      .reply(400, 'x'.repeat(MAX_RESPONSE_BYTES + 1));
    const result = await deliver(webhook, { payload }, options);
    expect(result.ok ? '' : result.message).toContain(
      `HTTP 400: Discord's answer is larger than ${MAX_RESPONSE_BYTES} bytes`,
    );
  });

  test('a network failure never carries the webhook token', async () => {
    const { options } = setup();
    // Nothing is intercepted: nock's refusal names the request path, token included.
    const result = await deliver(webhook, { payload }, { ...options, deadlineMs: 0 });
    expect(result).toMatchObject({ ok: false, problem: 'failed' });
    expect(result.ok ? '' : result.message).toMatch(/could not be reached/);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });
});

describe('flattenErrors', () => {
  test('walks nested errors', () => {
    expect(
      flattenErrors({
        content: { _errors: [{ message: 'Must be 2000 or fewer in length.' }] },
        embeds: { '0': { fields: { '3': { value: { _errors: [{ message: 'This field is required' }] } } } } },
      }),
    ).toEqual(['content: Must be 2000 or fewer in length.', 'embeds.0.fields.3.value: This field is required']);
  });
});
