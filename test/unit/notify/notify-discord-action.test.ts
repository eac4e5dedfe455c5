import nock from 'nock';
import { afterEach, describe, expect, test } from 'vitest';
import { runActionInProcess, stepView } from '../../support/action-harness.js';
import { action as notifyDiscord } from '../../../src/actions/notify-discord/main.js';
import { FakeClock } from '../../support/clock.js';

const TOKEN = 'Zx9-secret_T0KEN-value';
const HOOK = `/api/webhooks/123456789012345678/${TOKEN}`;
const WEBHOOK_URL = `https://discord.com${HOOK}`;
const MSG = '1234567890123456789';
const env = {
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/api',
  GITHUB_RUN_ID: '77',
  GITHUB_ACTOR: 'octocat',
};

/** The action's entry as the runner runs it (every action.yml default applied), HTTP through nock. */
async function action(values: Record<string, string>) {
  const step = stepView(
    await runActionInProcess({
      action: 'actions/notify-discord',
      with: values,
      github: {
        serverUrl: env.GITHUB_SERVER_URL,
        repository: env.GITHUB_REPOSITORY,
        runId: env.GITHUB_RUN_ID,
        actor: env.GITHUB_ACTOR,
      },
      run: () =>
        notifyDiscord.main({
          deps: {
            clock: new FakeClock(Date.parse('2025-06-01T12:00:00Z')),
            random: () => 1,
            env,
            deadlineMs: 5000,
          },
        }),
    }),
  );
  const log = step.log;
  const outputs = Object.fromEntries(step.outputs);
  const failures = step.failure === undefined ? [] : [step.failure];
  // The token must never appear in anything shown: log lines, annotations, summaries, outputs.
  const everything = [log.text(), ...failures, JSON.stringify(outputs)].join('\n');
  expect(everything).not.toContain(TOKEN);
  expect(step.result.leaks).toEqual([]);
  return { log, outputs, failures };
}

afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

describe('notify-discord action', () => {
  test('started: posts one embed and outputs the message id', async () => {
    let body:
      | {
          embeds: { title: string; color: number; fields: { name: string; value: string }[] }[];
          allowed_mentions: unknown;
        }
      | undefined;
    nock('https://discord.com')
      .post(HOOK, (b) => ((body = b), true))
      .query({ wait: 'true' })
      .reply(200, { id: MSG });
    const { outputs, failures, log } = await action({
      'webhook-url': WEBHOOK_URL,
      status: 'started',
      client: 'acme',
      service: 'api',
      version: 'abc1234',
      environment: 'production',
    });
    expect(failures).toEqual([]);
    expect(outputs).toEqual({ 'message-id': MSG });
    expect(body?.embeds[0]?.title).toBe('🚀 acme/api abc1234: deploying (production)');
    expect(body?.allowed_mentions).toEqual({ parse: [] });
    expect(log.masked).toContain(WEBHOOK_URL);
    expect(log.masked).toContain(TOKEN);
    expect(log.summaries[0]).toMatch(/### notify-discord\n\nPosted the Discord message for acme\/api: `started`/);
  });

  test('the final status edits the started message and shows the duration', async () => {
    let body:
      { embeds: { color: number; description: string; fields: { name: string; value: string }[] }[] } | undefined;
    // A message id created 95 s before the fake clock's now.
    const startedId = ((BigInt(Date.parse('2025-06-01T12:00:00Z') - 95_000) - 1_420_070_400_000n) << 22n).toString();
    nock('https://discord.com')
      .patch(`${HOOK}/messages/${startedId}`, (b) => ((body = b), true))
      .reply(200, { id: startedId });
    const { outputs, failures } = await action({
      'webhook-url': WEBHOOK_URL,
      status: 'rolled-back',
      service: 'api',
      reason: 'verify-health: HTTP 500',
      'message-id': startedId,
    });
    expect(failures).toEqual([]);
    expect(outputs).toEqual({ 'message-id': startedId });
    expect(body?.embeds[0]?.color).toBe(0xe67e22);
    expect(body?.embeds[0]?.description).toMatch(/^verify-health: HTTP 500/);
    expect(body?.embeds[0]?.fields.find((f) => f.name === 'Duration')?.value).toBe('1m35s');
  });

  test('a 404 is a warning by default and the step succeeds', async () => {
    nock('https://discord.com').post(HOOK).query(true).reply(404, { message: 'Unknown Webhook', code: 10015 });
    const { failures, log, outputs } = await action({ 'webhook-url': WEBHOOK_URL, status: 'success' });
    expect(failures).toEqual([]);
    expect(outputs).toEqual({});
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]?.message).toMatch(/the deploy's result stands.*webhook no longer exists/);
    expect(log.summaries[0]).toMatch(/⚠️ Discord notification failed/);
  });

  test('fail-on-error: true makes a failed notification fail the step', async () => {
    nock('https://discord.com')
      .post(HOOK)
      .query(true)
      .reply(400, {
        code: 50035,
        message: 'Invalid Form Body',
        errors: { content: { _errors: [{ message: 'too long' }] } },
      });
    const { failures, log } = await action({ 'webhook-url': WEBHOOK_URL, status: 'failure', 'fail-on-error': 'true' });
    expect(failures).toEqual([
      'notify-discord: Discord rejected the message (HTTP 400 (code 50035): Invalid Form Body — content: too long)',
    ]);
    expect(log.warnings).toEqual([]);
  });

  test('Discord unreachable: the error is reported without the token', async () => {
    // No interceptor: nock refuses the connection with a message that names the full path.
    const { failures, log } = await action({ 'webhook-url': WEBHOOK_URL, status: 'success', 'fail-on-error': 'true' });
    expect(failures[0]).toMatch(/^notify-discord: Discord could not be reached: .*\*\*\*/);
    expect(log.text()).toMatch(/Discord could not be reached/);
  });

  test('an oversized reason is trimmed, not rejected', async () => {
    let body: { embeds: { title: string; description: string }[] } | undefined;
    nock('https://discord.com')
      .post(HOOK, (b) => ((body = b), true))
      .query(true)
      .reply(200, { id: MSG });
    const { failures } = await action({
      'webhook-url': WEBHOOK_URL,
      status: 'failure',
      service: 'x'.repeat(400),
      reason: 'boom '.repeat(3000),
    });
    expect(failures).toEqual([]);
    expect(body?.embeds[0]?.title.length).toBeLessThanOrEqual(256);
    expect(body?.embeds[0]?.description.length).toBeLessThanOrEqual(4096);
    expect(body?.embeds[0]?.description).toContain('…');
  });

  test('a role on failure pings through allowed_mentions', async () => {
    let body: { content?: string; allowed_mentions: unknown } | undefined;
    nock('https://discord.com')
      .post(HOOK, (b) => ((body = b), true))
      .query(true)
      .reply(200, { id: MSG });
    await action({ 'webhook-url': WEBHOOK_URL, status: 'failure', 'mention-on-failure': '111111111111111111' });
    expect(body?.content).toBe('<@&111111111111111111>');
    expect(body?.allowed_mentions).toEqual({ parse: [], roles: ['111111111111111111'] });
  });

  test('no webhook-url: skipped with a warning', async () => {
    const { failures, log } = await action({ status: 'success' });
    expect(failures).toEqual([]);
    expect(log.warnings[0]?.message).toMatch(/No webhook-url/);
  });

  test.each([
    [{ status: 'done' }, /Input "status": expected one of started, success, failure, rolled-back, cancelled/],
    [{}, /Input "status": is required/],
    [{ status: 'success', 'message-id': 'abc' }, /Input "message-id": expected a Discord id/],
    [{ status: 'failure', 'mention-on-failure': '@everyone' }, /Input "mention-on-failure"/],
  ])('%j: a configuration error is a warning by default', async (values, message) => {
    const { failures, log } = await action({ 'webhook-url': WEBHOOK_URL, ...values });
    expect(failures).toEqual([]);
    expect(log.warnings[0]?.message).toMatch(message);
  });

  test('an invalid webhook URL fails with fail-on-error, without quoting it', async () => {
    const { failures } = await action({
      'webhook-url': `http://discord.com/api/webhooks/1/${TOKEN}`,
      status: 'success',
      'fail-on-error': 'true',
    });
    expect(failures).toEqual([
      'notify-discord: Configuration error: Input "webhook-url": must use https (expected https://discord.com/api/webhooks/<id>/<token>)',
    ]);
  });
});
