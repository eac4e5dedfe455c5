import { ConfigurationError } from '../core/errors.js';

/** A parsed webhook URL. `base` carries the token: it must never be printed. */
export interface Webhook {
  base: URL;
  id: string;
  token: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/**
 * `https://discord.com/api/webhooks/<id>/<token>` (any host with that path shape, so a proxy or a
 * local receiver shaped like Discord's API works too; plain http only on loopback). The error
 * never quotes the value: it is a credential.
 */
export function parseWebhookUrl(text: string, input = 'webhook-url'): Webhook {
  const shape = 'expected https://discord.com/api/webhooks/<id>/<token>';
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ConfigurationError(`is not a URL (${shape})`, input);
  }
  const m = /\/webhooks\/(\d+)\/([A-Za-z0-9_-]+)\/?$/.exec(url.pathname);
  if (!m) throw new ConfigurationError(`is not a webhook URL (${shape})`, input);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.test(url.hostname))) {
    throw new ConfigurationError(`must use https (${shape})`, input);
  }
  url.pathname = url.pathname.replace(/\/$/, '');
  url.hash = '';
  return { base: url, id: m[1] as string, token: m[2] as string };
}

/** Remove every form of the webhook's secret from a text (an error message, a response body). */
export function redactWebhook(text: string, webhook: Webhook | undefined, raw?: string): string {
  let result = text;
  const secrets = [raw?.trim(), webhook?.base.href, webhook?.base.pathname, webhook?.token]
    .filter((s): s is string => s !== undefined && s.length >= 4)
    .sort((a, b) => b.length - a.length);
  for (const secret of secrets) result = result.split(secret).join('***');
  return result;
}
