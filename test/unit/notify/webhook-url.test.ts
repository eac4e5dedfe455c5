import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { parseWebhookUrl, redactWebhook } from '../../../src/notify/webhook-url.js';
import { actionField } from '../../../src/core/run.js';

const TOKEN = 'Tok3n_s3cret-value';
const URL_TEXT = `https://discord.com/api/webhooks/123456789012345678/${TOKEN}`;

describe('parseWebhookUrl', () => {
  test.each([
    [URL_TEXT, '123456789012345678', 'https://discord.com/api/webhooks/123456789012345678/' + TOKEN],
    [`${URL_TEXT}/`, '123456789012345678', 'https://discord.com/api/webhooks/123456789012345678/' + TOKEN],
    [
      `https://discordapp.com/api/v10/webhooks/1/${TOKEN}?thread_id=9`,
      '1',
      `https://discordapp.com/api/v10/webhooks/1/${TOKEN}?thread_id=9`,
    ],
    [`http://127.0.0.1:4000/api/webhooks/42/${TOKEN}`, '42', `http://127.0.0.1:4000/api/webhooks/42/${TOKEN}`],
  ])('%s', (text, id, base) => {
    const webhook = parseWebhookUrl(text);
    expect(webhook.id).toBe(id);
    expect(webhook.token).toBe(TOKEN);
    expect(webhook.base.href).toBe(base);
  });

  test.each([
    [`not a url ${TOKEN}`, /is not a URL/],
    [`https://discord.com/api/channels/1/${TOKEN}`, /is not a webhook URL/],
    [`http://discord.com/api/webhooks/1/${TOKEN}`, /must use https/],
    [`https://discord.com/api/webhooks/abc/${TOKEN}`, /is not a webhook URL/],
  ])('%s is refused without quoting it', (text, message) => {
    let error: unknown;
    try {
      parseWebhookUrl(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).spelled(actionField)).toMatch(/^Input "webhook-url": /);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(TOKEN);
  });
});

describe('redactWebhook', () => {
  test('removes the URL, its path and the token in any form', () => {
    const webhook = parseWebhookUrl(URL_TEXT);
    const text = `request to ${URL_TEXT}?wait=true failed; path /api/webhooks/123456789012345678/${TOKEN}; token ${TOKEN}`;
    const redacted = redactWebhook(text, webhook, URL_TEXT);
    expect(redacted).not.toContain(TOKEN);
    expect(redacted).toContain('request to ***?wait=true failed');
  });
});
