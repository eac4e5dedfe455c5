import { describe, expect, test } from 'vitest';
import {
  embedLength,
  fitPayload,
  LIMITS,
  trimText,
  type Embed,
  type WebhookPayload,
} from '../../../src/notify/limits.js';

describe('trimText', () => {
  test.each([
    ['short', 10, 'short'],
    ['exactly10!', 10, 'exactly10!'],
    ['eleven char', 10, 'eleven ch…'],
    ['abc', 1, '…'],
    ['abc', 0, ''],
    // An emoji (two UTF-16 units) at the cut is dropped whole, not split in half.
    ['ab😀cd', 4, 'ab…'],
  ])('%j to %i → %j', (text, max, expected) => {
    const trimmed = trimText(text, max);
    expect(trimmed).toBe(expected);
    expect(trimmed.length).toBeLessThanOrEqual(max);
  });
});

function assertWithinLimits(payload: WebhookPayload): void {
  expect((payload.content ?? '').length).toBeLessThanOrEqual(LIMITS.content);
  expect((payload.username ?? '').length).toBeLessThanOrEqual(LIMITS.username);
  const embeds = payload.embeds ?? [];
  expect(embeds.length).toBeLessThanOrEqual(LIMITS.embeds);
  let total = 0;
  for (const e of embeds) {
    expect((e.title ?? '').length).toBeLessThanOrEqual(LIMITS.title);
    expect((e.description ?? '').length).toBeLessThanOrEqual(LIMITS.description);
    expect((e.footer?.text ?? '').length).toBeLessThanOrEqual(LIMITS.footer);
    expect((e.author?.name ?? '').length).toBeLessThanOrEqual(LIMITS.author);
    expect((e.fields ?? []).length).toBeLessThanOrEqual(LIMITS.fields);
    for (const f of e.fields ?? []) {
      expect(f.name.length).toBeLessThanOrEqual(LIMITS.fieldName);
      expect(f.value.length).toBeLessThanOrEqual(LIMITS.fieldValue);
      expect(f.name.length).toBeGreaterThan(0);
      expect(f.value.length).toBeGreaterThan(0);
    }
    total += embedLength(e);
  }
  expect(total).toBeLessThanOrEqual(LIMITS.total);
}

describe('fitPayload', () => {
  const huge = (n: number, ch = 'x') => ch.repeat(n);
  const monster: Embed = {
    title: huge(1000, 't'),
    description: huge(10_000, 'd'),
    footer: { text: huge(5000, 'f') },
    author: { name: huge(500, 'a') },
    fields: Array.from({ length: 40 }, (_, i) => ({ name: huge(400, String(i % 10)), value: huge(2000, 'v') })),
  };

  test.each<[string, WebhookPayload]>([
    [
      'everything oversized in one embed',
      { content: huge(5000), username: huge(200), embeds: [monster], allowed_mentions: { parse: [] } },
    ],
    ['eleven oversized embeds', { embeds: Array.from({ length: 11 }, () => monster), allowed_mentions: { parse: [] } }],
    [
      'a long description alone',
      { embeds: [{ title: 'ok', description: huge(7000) }], allowed_mentions: { parse: [] } },
    ],
    [
      'many fields, each within its own limit, over 6000 together',
      {
        embeds: [
          { title: 't', fields: Array.from({ length: 25 }, (_, i) => ({ name: `field ${i}`, value: huge(1000) })) },
        ],
        allowed_mentions: { parse: [] },
      },
    ],
  ])('%s fits every limit', (_name, payload) => {
    const fitted = fitPayload(payload);
    assertWithinLimits(fitted);
  });

  test('trims the long text and keeps the short facts whole', () => {
    const fitted = fitPayload({
      embeds: [
        {
          title: '❌ acme/api abc1234: deploy failed',
          description: huge(4000, 'r'),
          fields: [
            { name: 'Client', value: 'acme' },
            { name: 'Reason copy', value: huge(1024, 'q') },
            { name: 'Log', value: huge(1024, 'l') },
            { name: 'More', value: huge(1024, 'm') },
          ],
        },
      ],
      allowed_mentions: { parse: [] },
    });
    assertWithinLimits(fitted);
    const embed = fitted.embeds?.[0];
    expect(embed?.title).toBe('❌ acme/api abc1234: deploy failed');
    expect(embed?.fields?.[0]).toEqual({ name: 'Client', value: 'acme' });
    expect(embed?.description?.endsWith('…')).toBe(true);
    expect(embedLength(embed as Embed)).toBeGreaterThan(LIMITS.total - 10); // trimmed only as much as needed
  });

  test('does not change what already fits, nor the input object', () => {
    const payload: WebhookPayload = {
      content: 'hi',
      embeds: [{ title: 'a', description: 'b' }],
      allowed_mentions: { parse: [] },
    };
    const copy = structuredClone(payload);
    expect(fitPayload(payload)).toEqual(payload);
    const big: WebhookPayload = { embeds: [{ description: huge(9000) }], allowed_mentions: { parse: [] } };
    fitPayload(big);
    expect(big.embeds?.[0]?.description?.length).toBe(9000);
    expect(payload).toEqual(copy);
  });
});
