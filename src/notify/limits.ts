/** Discord's documented limits for webhook messages and embeds. Over any of them → 400, code 50035. */
export const LIMITS = {
  content: 2000,
  username: 80,
  threadName: 100,
  embeds: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  author: 256,
  /** title + description + field names and values + footer text + author name, all embeds together. */
  total: 6000,
} as const;

export interface EmbedField {
  name: string;
  value: string;
  inline?: boolean;
}

export interface Embed {
  title?: string;
  description?: string;
  url?: string;
  color?: number;
  timestamp?: string;
  fields?: EmbedField[];
  footer?: { text: string; icon_url?: string };
  author?: { name: string; url?: string; icon_url?: string };
}

export interface AllowedMentions {
  parse: ('roles' | 'users' | 'everyone')[];
  roles?: string[];
  users?: string[];
}

export interface WebhookPayload {
  content?: string;
  username?: string;
  avatar_url?: string;
  embeds?: Embed[];
  allowed_mentions: AllowedMentions;
  /** Forum channels: creates a post with this name (POST only). */
  thread_name?: string;
}

const ELLIPSIS = '…';

/**
 * Cut text to at most `max` UTF-16 units, ending in an ellipsis when cut. Never splits a
 * surrogate pair, so an emoji at the cut does not become an invalid character.
 */
export function trimText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let cut = text.slice(0, max - ELLIPSIS.length);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut + ELLIPSIS;
}

/** The characters Discord counts toward the 6000 total. */
export function embedLength(embed: Embed): number {
  let total = (embed.title?.length ?? 0) + (embed.description?.length ?? 0);
  total += embed.footer?.text.length ?? 0;
  total += embed.author?.name.length ?? 0;
  for (const field of embed.fields ?? []) total += field.name.length + field.value.length;
  return total;
}

/**
 * Make a payload fit every Discord limit by trimming, never by dropping the message: each text to
 * its own limit first, then, while all embeds together exceed 6000, the longest text is shortened
 * (the reason in a description usually), so the short facts (client, version, status) survive.
 */
export function fitPayload(payload: WebhookPayload): WebhookPayload {
  const fitted: WebhookPayload = { ...payload };
  if (fitted.content !== undefined) fitted.content = trimText(fitted.content, LIMITS.content);
  if (fitted.username !== undefined) fitted.username = trimText(fitted.username, LIMITS.username);
  if (fitted.thread_name !== undefined) fitted.thread_name = trimText(fitted.thread_name, LIMITS.threadName);
  if (fitted.embeds === undefined) return fitted;

  const embeds = fitted.embeds.slice(0, LIMITS.embeds).map(fitEmbed);
  // Every text we may shorten, as getter/setter pairs over the copies.
  const parts: { get(): string; set(v: string): void }[] = [];
  for (const e of embeds) {
    if (e.title !== undefined) parts.push({ get: () => e.title ?? '', set: (v) => (e.title = v) });
    if (e.description !== undefined) parts.push({ get: () => e.description ?? '', set: (v) => (e.description = v) });
    if (e.footer) {
      const footer = e.footer;
      parts.push({ get: () => footer.text, set: (v) => (footer.text = v) });
    }
    if (e.author) {
      const author = e.author;
      parts.push({ get: () => author.name, set: (v) => (author.name = v) });
    }
    for (const f of e.fields ?? []) {
      parts.push({ get: () => f.name, set: (v) => (f.name = v) });
      parts.push({ get: () => f.value, set: (v) => (f.value = v) });
    }
  }
  const total = () => embeds.reduce((sum, e) => sum + embedLength(e), 0);
  for (let excess = total() - LIMITS.total; excess > 0; excess = total() - LIMITS.total) {
    const longest = parts.reduce((a, b) => (b.get().length > a.get().length ? b : a));
    const length = longest.get().length;
    // Shorten by the excess, but by at most half at a time so one long text does not vanish
    // while another, nearly as long, stays whole.
    const target = Math.max(1, length - excess, Math.ceil(length / 2));
    if (target >= length) break; // every text is down to one character: cannot happen within 6000
    longest.set(trimText(longest.get(), target));
  }
  fitted.embeds = embeds;
  return fitted;
}

function fitEmbed(embed: Embed): Embed {
  const e: Embed = { ...embed };
  if (e.title !== undefined) e.title = trimText(e.title, LIMITS.title);
  if (e.description !== undefined) e.description = trimText(e.description, LIMITS.description);
  if (e.footer) e.footer = { ...e.footer, text: trimText(e.footer.text, LIMITS.footer) };
  if (e.author) e.author = { ...e.author, name: trimText(e.author.name, LIMITS.author) };
  if (e.fields) {
    e.fields = e.fields.slice(0, LIMITS.fields).map((f) => ({
      ...f,
      name: trimText(f.name, LIMITS.fieldName),
      value: trimText(f.value, LIMITS.fieldValue),
    }));
  }
  return e;
}
