import { errorMessage } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { retry, systemClock, type Clock } from '../core/retry.js';
import type { WebhookPayload } from './limits.js';
import { redactWebhook, type Webhook } from './webhook-url.js';

/** An HTTP answer from Discord other than 2xx. Its message is already free of the webhook token. */
export class DiscordError extends Error {
  override readonly name = 'DiscordError';
  constructor(
    message: string,
    readonly status: number,
    /** Discord's JSON error code (50035 Invalid Form Body, 10015 Unknown Webhook, 10008 Unknown Message). */
    readonly code: number | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

export interface DeliveryOptions {
  log: Log;
  fetch?: typeof fetch;
  clock?: Clock;
  random?: () => number;
  /** All attempts (429 waits included) end by this long after the first. */
  deadlineMs?: number;
  requestTimeoutMs?: number;
}

export interface DeliveryRequest {
  payload: WebhookPayload;
  /** Edit this message instead of posting a new one. */
  messageId?: string | undefined;
  /** Post into (or edit inside) this thread. */
  threadId?: string | undefined;
}

export type DeliveryResult =
  | { ok: true; messageId: string; edited: boolean; followUpId?: string }
  | { ok: false; problem: 'gone' | 'rejected' | 'rate-limited' | 'unauthorized' | 'failed'; message: string };

interface DiscordMessage {
  id: string;
  channel_id?: string;
}

const UNKNOWN_MESSAGE = 10008;
/** Discord's answer is a message (at most a few KiB with ten embeds); nothing larger is read. */
export const MAX_RESPONSE_BYTES = 128 * 1024;
const INVALID_FORM_BODY = 50035;

/**
 * Post (`?wait=true`, so the message id comes back) or edit a webhook message, retrying 429s after
 * Discord's `retry_after` and 5xx/network errors with backoff, all under one deadline. Never throws
 * for an HTTP or network failure: the caller decides whether a failed notification fails the step.
 *
 * Editing a message to add a mention does not ping anyone in Discord, so when an edit carries
 * mentions they go out in a short follow-up message instead.
 */
export async function deliver(
  webhook: Webhook,
  request: DeliveryRequest,
  options: DeliveryOptions,
): Promise<DeliveryResult> {
  const { payload } = request;
  try {
    if (request.messageId !== undefined) {
      // A forum post created with thread_name lives in a thread whose id is the starter message's id.
      const threadId = request.threadId ?? (payload.thread_name !== undefined ? request.messageId : undefined);
      const edit: WebhookPayload = { allowed_mentions: { parse: [] } };
      if (payload.embeds !== undefined) edit.embeds = payload.embeds;
      try {
        const message = await send(webhook, 'PATCH', `/messages/${request.messageId}`, threadId, edit, options);
        const result: DeliveryResult = { ok: true, messageId: message.id, edited: true };
        if (payload.content !== undefined && payload.content !== '') {
          const followUp: WebhookPayload = { content: payload.content, allowed_mentions: payload.allowed_mentions };
          if (payload.username !== undefined) followUp.username = payload.username;
          if (payload.avatar_url !== undefined) followUp.avatar_url = payload.avatar_url;
          result.followUpId = (await send(webhook, 'POST', '', threadId, followUp, options)).id;
        }
        return result;
      } catch (error) {
        if (!(error instanceof DiscordError && error.status === 404 && error.code === UNKNOWN_MESSAGE)) throw error;
        options.log.warning(`Discord message ${request.messageId} no longer exists; posting a new one instead`);
      }
    }
    const posted = { ...payload };
    if (request.threadId !== undefined) delete posted.thread_name;
    const message = await send(webhook, 'POST', '', request.threadId, posted, options);
    return { ok: true, messageId: message.id, edited: false };
  } catch (error) {
    return describe(error, webhook);
  }
}

async function send(
  webhook: Webhook,
  method: 'POST' | 'PATCH',
  path: string,
  threadId: string | undefined,
  body: WebhookPayload,
  options: DeliveryOptions,
): Promise<DiscordMessage> {
  const fetchImpl = options.fetch ?? fetch;
  const url = new URL(webhook.base.href);
  url.pathname += path;
  if (method === 'POST') url.searchParams.set('wait', 'true');
  if (threadId !== undefined) url.searchParams.set('thread_id', threadId);
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;

  return retry(
    async () => {
      let response: Response;
      try {
        response = await fetchImpl(url, {
          method,
          headers: { 'content-type': 'application/json', 'user-agent': 'swarm-deploy (notify-discord)' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(requestTimeoutMs),
          // A redirect would carry the payload to another address: it is an error, never followed.
          redirect: 'manual',
        });
      } catch (error) {
        // fetch's own errors can quote the URL; only the redacted cause goes on.
        const cause = error instanceof Error && error.cause !== undefined ? `: ${errorMessage(error.cause)}` : '';
        throw new Error(redactWebhook(`${errorMessage(error)}${cause}`, webhook));
      }
      if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
        await response.body?.cancel().catch(() => undefined);
        throw new DiscordError(
          `HTTP ${response.status}: Discord answered with a redirect; it is not followed, and the message was not sent`,
          response.status,
          undefined,
          undefined,
        );
      }
      const text = await readBounded(response, MAX_RESPONSE_BYTES);
      if (text === undefined) {
        throw new DiscordError(
          `HTTP ${response.status}: Discord's answer is larger than ${MAX_RESPONSE_BYTES} bytes; it was not read further`,
          response.status,
          undefined,
          undefined,
        );
      }
      const json = parseJson(text);
      if (response.ok) {
        const id =
          json !== null && typeof json === 'object' && 'id' in json ? String((json as { id: unknown }).id) : '';
        if (id === '')
          throw new DiscordError('Discord answered without a message id', response.status, undefined, undefined);
        return json as DiscordMessage;
      }
      throw discordError(response, json, text, webhook);
    },
    {
      deadlineMs: options.deadlineMs ?? 30_000,
      baseDelayMs: 1000,
      maxDelayMs: 10_000,
      ...(options.clock ? { clock: options.clock } : { clock: systemClock }),
      ...(options.random ? { random: options.random } : {}),
      retryable: (error) => {
        if (!(error instanceof DiscordError)) return true; // network: try again
        if (error.status === 429) return error.retryAfterMs ?? true;
        return error.status >= 500;
      },
      onRetry: (error, attempt, delayMs) =>
        options.log.info(
          `Discord: ${errorMessage(error)}; retrying in ${(delayMs / 1000).toFixed(1)}s (attempt ${attempt + 1})`,
        ),
    },
  );
}

/** The body as text, or undefined (and the rest left unread) once it grows past `limit` bytes. */
async function readBounded(response: Response, limit: number): Promise<string | undefined> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function discordError(response: Response, json: unknown, text: string, webhook: Webhook): DiscordError {
  const body = (json !== null && typeof json === 'object' ? json : {}) as {
    code?: unknown;
    message?: unknown;
    retry_after?: unknown;
    errors?: unknown;
  };
  const code = typeof body.code === 'number' ? body.code : undefined;
  let retryAfterMs: number | undefined;
  if (typeof body.retry_after === 'number') retryAfterMs = Math.ceil(body.retry_after * 1000);
  else {
    const header = Number(response.headers.get('retry-after'));
    if (response.headers.has('retry-after') && Number.isFinite(header)) retryAfterMs = Math.ceil(header * 1000);
  }
  const what = typeof body.message === 'string' ? body.message : text.slice(0, 200) || response.statusText;
  const details = body.errors === undefined ? [] : flattenErrors(body.errors);
  const message = `HTTP ${response.status}${code === undefined ? '' : ` (code ${code})`}: ${what}${
    details.length > 0 ? ` — ${details.slice(0, 10).join('; ')}` : ''
  }`;
  return new DiscordError(redactWebhook(message, webhook), response.status, code, retryAfterMs);
}

/** Discord's nested `errors` → `embeds.0.title: Must be 256 or fewer in length.` lines. */
export function flattenErrors(errors: unknown, path: string[] = []): string[] {
  if (errors === null || typeof errors !== 'object') return [];
  const lines: string[] = [];
  for (const [key, value] of Object.entries(errors)) {
    if (key === '_errors' && Array.isArray(value)) {
      for (const e of value as { message?: unknown }[]) {
        lines.push(`${path.join('.') || '(payload)'}: ${typeof e.message === 'string' ? e.message : 'invalid'}`);
      }
    } else {
      lines.push(...flattenErrors(value, [...path, key]));
    }
  }
  return lines;
}

function describe(error: unknown, webhook: Webhook): DeliveryResult {
  const message = redactWebhook(errorMessage(error), webhook);
  if (!(error instanceof DiscordError))
    return { ok: false, problem: 'failed', message: `Discord could not be reached: ${message}` };
  if (error.status === 404) {
    return {
      ok: false,
      problem: 'gone',
      message: `the Discord webhook no longer exists (${message}); create a new one and update the webhook-url secret`,
    };
  }
  if (error.status === 401 || error.status === 403) {
    return { ok: false, problem: 'unauthorized', message: `Discord refused the webhook token (${message})` };
  }
  if (error.status === 429)
    return { ok: false, problem: 'rate-limited', message: `still rate limited by Discord (${message})` };
  if (error.status === 400 && error.code === INVALID_FORM_BODY) {
    return { ok: false, problem: 'rejected', message: `Discord rejected the message (${message})` };
  }
  return { ok: false, problem: 'failed', message: `Discord answered ${message}` };
}
