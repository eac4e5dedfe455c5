/**
 * A local HTTP endpoint shaped like Discord's webhook API: executing a webhook (`?wait=true`)
 * answers the message with a snowflake id, `PATCH …/messages/<id>` edits it. The demo and the
 * workflow tests read what the team's channel would show.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DiscordEmbed {
  title?: string;
  description?: string;
  fields?: { name: string; value: string }[];
}

export interface DiscordMessage {
  id: string;
  embeds: DiscordEmbed[];
  /** How many times the message was edited after it was posted. */
  edits: number;
}

export interface DiscordReceiver {
  /** The webhook URL to hand to notify-discord (a secret in a real repository). */
  url: string;
  messages: Map<string, DiscordMessage>;
  close(): Promise<void>;
}

export async function startDiscordReceiver(
  onMessage: (message: DiscordMessage, edited: boolean) => void = () => undefined,
): Promise<DiscordReceiver> {
  const messages = new Map<string, DiscordMessage>();
  let counter = 0n;
  // Discord ids are snowflakes: milliseconds since 2015 shifted left 22 bits (notify reads the age from them).
  const snowflake = () => (BigInt(Date.now() - 1420070400000) << 22n) + (counter += 1n);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { embeds?: DiscordEmbed[] };
      const edit = /\/messages\/(\d+)$/.exec(req.url ?? '');
      const id = edit?.[1] ?? String(snowflake());
      const message: DiscordMessage = { id, embeds: body.embeds ?? [], edits: (messages.get(id)?.edits ?? -1) + 1 };
      messages.set(id, message);
      onMessage(message, edit !== null);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, ...body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/api/webhooks/1234567890/lab-webhook-token-${port}`,
    messages,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
