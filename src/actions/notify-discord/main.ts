import { ConfigurationError, errorMessage } from '../../core/errors.js';
import type { Inputs } from '../../core/inputs.js';
import { defineAction } from '../../core/action.js';
import { describeFailure } from '../../core/run.js';
import { deliver, type DeliveryResult } from '../../notify/deliver.js';
import {
  buildPayload,
  parseMentions,
  snowflakeTime,
  STATUSES,
  type Notification,
  type RunContext,
} from '../../notify/embed.js';
import { parseWebhookUrl, redactWebhook, type Webhook } from '../../notify/webhook-url.js';

export interface NotifySeams {
  /** How long delivery may take, retries included (undefined: deliver's own default). */
  deadlineMs: number | undefined;
}

/**
 * A notification must not decide a deploy's fate: unless `fail-on-error` is true, anything that
 * goes wrong here (a bad input included) is a warning and the step succeeds.
 */
export const action = defineAction<NotifySeams>({
  seams: () => ({ deadlineMs: undefined }),
  main: async ({ inputs, log, outputs, deps }) => {
    const failOnError = inputs.boolean('fail-on-error', false);
    const rawUrl = inputs.secret('webhook-url');
    let webhook: Webhook | undefined;
    const fail = async (message: string) => {
      const clean = redactWebhook(message, webhook, rawUrl);
      await log.summary(`### notify-discord\n\n⚠️ Discord notification failed: ${clean}\n`);
      if (failOnError) return { failure: `notify-discord: ${clean}` };
      log.warning(`Discord notification failed (the deploy's result stands): ${clean}`);
      return {};
    };

    let prepared: ReturnType<typeof prepare>;
    try {
      if (rawUrl === undefined) {
        log.warning('No webhook-url was given; skipping the Discord notification');
        await log.summary('### notify-discord\n\nSkipped: no webhook-url.\n');
        return failOnError ? { failure: 'notify-discord: Input "webhook-url": is required and was not supplied' } : {};
      }
      webhook = parseWebhookUrl(rawUrl);
      log.mask(webhook.token);
      prepared = prepare(inputs, deps.env, deps.clock.now());
    } catch (error) {
      return fail(describeFailure(error, log));
    }

    const { notification, messageId, threadId, payload } = prepared;
    let result: DeliveryResult;
    try {
      result = await deliver(
        webhook,
        { payload, messageId, threadId },
        {
          log,
          fetch: deps.fetch,
          clock: deps.clock,
          random: deps.random,
          ...(deps.deadlineMs !== undefined ? { deadlineMs: deps.deadlineMs } : {}),
        },
      );
    } catch (error) {
      result = { ok: false, problem: 'failed', message: errorMessage(error) };
    }

    if (!result.ok) {
      if (messageId !== undefined) outputs.set('message-id', messageId);
      return fail(result.message);
    }
    outputs.set('message-id', result.messageId);
    const verb = result.edited ? 'Edited' : 'Posted';
    log.info(`${verb} Discord message ${result.messageId} (${notification.status})`);
    await log.summary(summaryMarkdown(notification, result.messageId, result.edited));
    return {};
  },
});

function prepare(inputs: Inputs, env: NodeJS.ProcessEnv, now: number) {
  inputs.required('status');
  const notification: Notification = {
    status: inputs.choice('status', STATUSES, 'success'),
    client: inputs.optional('client'),
    service: inputs.optional('service'),
    version: inputs.optional('version'),
    environment: inputs.optional('environment'),
    reason: inputs.optional('reason'),
    url: httpUrl(inputs, 'url'),
    mentions: parseMentions(inputs.optional('mention-on-failure')),
    username: inputs.optional('username'),
    avatarUrl: httpUrl(inputs, 'avatar-url'),
    threadName: inputs.optional('thread-name'),
  };
  const messageId = snowflake(inputs, 'message-id');
  const threadId = snowflake(inputs, 'thread-id');
  const context: RunContext = {
    serverUrl: env.GITHUB_SERVER_URL,
    repository: env.GITHUB_REPOSITORY,
    runId: env.GITHUB_RUN_ID,
    runAttempt: env.GITHUB_RUN_ATTEMPT,
    actor: env.GITHUB_ACTOR,
    now,
    startedAt: messageId === undefined ? undefined : snowflakeTime(messageId),
  };
  return { notification, messageId, threadId, payload: buildPayload(notification, context) };
}

function snowflake(inputs: Inputs, name: string): string | undefined {
  const value = inputs.optional(name);
  if (value !== undefined && !/^\d{15,20}$/.test(value)) {
    throw new ConfigurationError(`expected a Discord id (digits), got "${value.slice(0, 40)}"`, name);
  }
  return value;
}

function httpUrl(inputs: Inputs, name: string): string | undefined {
  const value = inputs.optional(name);
  if (value !== undefined && !/^https?:\/\/\S+$/.test(value)) {
    throw new ConfigurationError('expected an http(s) URL', name);
  }
  return value;
}

function summaryMarkdown(notification: Notification, messageId: string, edited: boolean): string {
  const what = [notification.client, notification.service].filter(Boolean).join('/') || 'deploy';
  return `### notify-discord\n\n${edited ? 'Edited' : 'Posted'} the Discord message for ${what}: \`${notification.status}\` (message ${messageId}).\n`;
}
