import { describe, expect, test } from 'vitest';
import { actionSpelling } from '../../support/errors.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import { runUrl } from '../../../src/core/github.js';
import {
  buildPayload,
  commitUrl,
  parseMentions,
  snowflakeTime,
  type Notification,
  type RunContext,
} from '../../../src/notify/embed.js';
import { embedLength, LIMITS } from '../../../src/notify/limits.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const context: RunContext = {
  serverUrl: 'https://github.com',
  repository: 'acme/api',
  runId: '4242',
  runAttempt: '1',
  actor: 'octocat',
  now: NOW,
};
const base: Notification = {
  status: 'success',
  client: 'acme',
  service: 'api',
  version: 'abc1234',
  environment: 'production',
};
const embedOf = (n: Partial<Notification>, c: Partial<RunContext> = {}) => {
  const payload = buildPayload({ ...base, ...n }, { ...context, ...c });
  const embed = payload.embeds?.[0];
  if (!embed) throw new Error('no embed');
  return { payload, embed, field: (name: string) => embed.fields?.find((f) => f.name === name)?.value };
};

describe('buildPayload', () => {
  test.each([
    ['started', 0x3498db, /🚀 acme\/api abc1234: deploying \(production\)/],
    ['success', 0x2ecc71, /✅ acme\/api abc1234: deployed \(production\)/],
    ['failure', 0xe74c3c, /❌ acme\/api abc1234: deploy failed/],
    ['rolled-back', 0xe67e22, /rolled back/],
    ['cancelled', 0x95a5a6, /deploy cancelled/],
  ] as const)('%s is coloured %i', (status, color, title) => {
    const { payload, embed } = embedOf({ status });
    expect(payload.embeds).toHaveLength(1);
    expect(embed.color).toBe(color);
    expect(embed.title).toMatch(title);
  });

  test('fields: client, service, version linked to its commit, environment, actor; link to the run', () => {
    const { embed, field } = embedOf({ url: 'https://api.acme.example' });
    expect(embed.fields?.map((f) => f.name)).toEqual(['Client', 'Service', 'Version', 'Environment', 'Actor', 'URL']);
    expect(field('Version')).toBe('[`abc1234`](https://github.com/acme/api/commit/abc1234)');
    expect(field('Environment')).toBe('production');
    expect(field('Actor')).toBe('octocat');
    expect(field('URL')).toBe('https://api.acme.example');
    expect(embed.url).toBe('https://github.com/acme/api/actions/runs/4242');
    expect(embed.description).toBe('[Workflow run](https://github.com/acme/api/actions/runs/4242)');
    expect(embed.timestamp).toBe('2025-06-01T12:00:00.000Z');
    expect(embed.footer?.text).toBe('swarm-deploy · acme/api');
  });

  test('a version that is not a SHA is shown without a commit link', () => {
    expect(embedOf({ version: 'v1.2.3' }).field('Version')).toBe('v1.2.3');
  });

  test('missing facts are left out, never sent empty', () => {
    const { embed } = embedOf({ client: undefined, environment: undefined, version: undefined }, { actor: undefined });
    expect(embed.fields?.map((f) => f.name)).toEqual(['Service']);
    expect(embed.title).toBe('✅ api: deployed');
  });

  test('the reason goes in the description on failure, not on success', () => {
    expect(embedOf({ status: 'failure', reason: 'HTTP 500 from /health' }).embed.description).toMatch(
      /^HTTP 500 from \/health\n\n\[Workflow run\]/,
    );
    expect(embedOf({ status: 'rolled-back', reason: 'tasks crashed' }).embed.description).toMatch(/^tasks crashed/);
    expect(embedOf({ status: 'success', reason: 'should not show' }).embed.description).not.toMatch(/should not show/);
  });

  test('user text cannot ping @everyone or inject links', () => {
    const { embed, payload } = embedOf({ status: 'failure', reason: '@everyone look [here](https://evil.example)' });
    expect(embed.description).not.toMatch(/@everyone/);
    expect(embed.description).toContain('\\[here\\](https://evil.example)');
    expect(payload.allowed_mentions).toEqual({ parse: [] });
  });

  test('duration comes from when the deploy started', () => {
    expect(embedOf({ status: 'success' }, { startedAt: NOW - 83_400 }).field('Duration')).toBe('1m23.4s');
    expect(embedOf({ status: 'started' }, { startedAt: NOW - 83_400 }).field('Duration')).toBeUndefined();
    expect(embedOf({ status: 'success' }).field('Duration')).toBeUndefined();
  });

  test.each([
    ['failure', true],
    ['rolled-back', true],
    ['success', false],
    ['started', false],
    ['cancelled', false],
  ] as const)('mention-on-failure with %s pings: %s', (status, pings) => {
    const mentions = { roles: ['111111111111111111'], users: ['222222222222222222'] };
    const { payload } = embedOf({ status, mentions });
    if (pings) {
      expect(payload.content).toBe('<@&111111111111111111> <@222222222222222222>');
      expect(payload.allowed_mentions).toEqual({
        parse: [],
        roles: ['111111111111111111'],
        users: ['222222222222222222'],
      });
    } else {
      expect(payload.content).toBeUndefined();
      expect(payload.allowed_mentions).toEqual({ parse: [] });
    }
  });

  test('username, avatar and thread name are passed on', () => {
    const { payload } = embedOf({
      username: 'Deploys',
      avatarUrl: 'https://x.example/a.png',
      threadName: 'acme deploys',
    });
    expect(payload).toMatchObject({
      username: 'Deploys',
      avatar_url: 'https://x.example/a.png',
      thread_name: 'acme deploys',
    });
  });

  test('an oversized reason and names are trimmed within every limit', () => {
    const { payload, embed } = embedOf({
      status: 'failure',
      client: 'c'.repeat(3000),
      service: 's'.repeat(3000),
      environment: 'e'.repeat(3000),
      reason: 'r'.repeat(20_000),
      username: 'u'.repeat(500),
    });
    expect(embed.title?.length).toBeLessThanOrEqual(LIMITS.title);
    expect(embed.description?.length).toBeLessThanOrEqual(LIMITS.description);
    for (const f of embed.fields ?? []) expect(f.value.length).toBeLessThanOrEqual(LIMITS.fieldValue);
    expect(embedLength(embed)).toBeLessThanOrEqual(LIMITS.total);
    expect(payload.username?.length).toBeLessThanOrEqual(LIMITS.username);
    expect(embed.description?.includes('…')).toBe(true);
  });
});

describe('parseMentions', () => {
  test.each([
    [undefined, undefined],
    ['', undefined],
    ['111111111111111111', { roles: ['111111111111111111'], users: [] }],
    ['<@&111111111111111111>', { roles: ['111111111111111111'], users: [] }],
    ['role:111111111111111111', { roles: ['111111111111111111'], users: [] }],
    ['<@222222222222222222>', { roles: [], users: ['222222222222222222'] }],
    ['<@!222222222222222222>', { roles: [], users: ['222222222222222222'] }],
    ['user:222222222222222222, &111111111111111111', { roles: ['111111111111111111'], users: ['222222222222222222'] }],
  ])('%j', (text, expected) => {
    expect(parseMentions(text)).toEqual(expected);
  });

  test.each(['@everyone', 'here', '12', 'role:abc'])('%j is refused', (text) => {
    expect(() => parseMentions(text)).toThrow(ConfigurationError);
    expect(actionSpelling(() => parseMentions(text))).toMatch(/^Input "mention-on-failure": /);
  });
});

describe('links and ids', () => {
  test.each([
    [{}, 'https://github.com/acme/api/actions/runs/4242'],
    [{ runAttempt: '2' }, 'https://github.com/acme/api/actions/runs/4242/attempts/2'],
    [{ runId: undefined }, undefined],
  ])('runUrl %j', (c, expected) => {
    expect(runUrl({ ...context, ...c })).toBe(expected);
  });

  test.each([
    ['abc1234', 'https://github.com/acme/api/commit/abc1234'],
    [
      '0123456789abcdef0123456789abcdef01234567',
      'https://github.com/acme/api/commit/0123456789abcdef0123456789abcdef01234567',
    ],
    ['v1.0.0', undefined],
    ['abc12', undefined],
    [undefined, undefined],
  ])('commitUrl %j', (version, expected) => {
    expect(commitUrl(version, context)).toBe(expected);
  });

  test('snowflakeTime reads the creation time of a Discord id', () => {
    // Discord's documented example: 175928847299117063 was created at 2016-04-30T11:18:25.796Z.
    expect(new Date(snowflakeTime('175928847299117063') as number).toISOString()).toBe('2016-04-30T11:18:25.796Z');
    expect(snowflakeTime('abc')).toBeUndefined();
  });
});
