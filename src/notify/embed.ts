import { runUrl, type RunLocation } from '../core/github.js';
import { formatDuration } from '../core/duration.js';
import { ConfigurationError } from '../core/errors.js';
import { fitPayload, type AllowedMentions, type Embed, type EmbedField, type WebhookPayload } from './limits.js';

export const STATUSES = ['started', 'success', 'failure', 'rolled-back', 'cancelled'] as const;
export type DeployStatus = (typeof STATUSES)[number];

const LOOK: Record<DeployStatus, { color: number; emoji: string; label: string }> = {
  started: { color: 0x3498db, emoji: '🚀', label: 'deploying' },
  success: { color: 0x2ecc71, emoji: '✅', label: 'deployed' },
  failure: { color: 0xe74c3c, emoji: '❌', label: 'deploy failed' },
  'rolled-back': { color: 0xe67e22, emoji: '↩️', label: 'rolled back' },
  cancelled: { color: 0x95a5a6, emoji: '⏹️', label: 'deploy cancelled' },
};

/** Statuses that call for people: mentions apply to these only. */
export const FAILED_STATUSES: readonly DeployStatus[] = ['failure', 'rolled-back'];

/** Who to ping on failure: role and user ids (Discord snowflakes). */
export interface Mentions {
  roles: string[];
  users: string[];
}

export interface Notification {
  status: DeployStatus;
  client?: string | undefined;
  service?: string | undefined;
  version?: string | undefined;
  environment?: string | undefined;
  reason?: string | undefined;
  /** The service's own URL. */
  url?: string | undefined;
  mentions?: Mentions | undefined;
  username?: string | undefined;
  avatarUrl?: string | undefined;
  threadName?: string | undefined;
}

/** Where and when: what GitHub's environment tells about the run, plus the clock. */
export interface RunContext extends RunLocation {
  actor?: string | undefined;
  now: number;
  /** When the deploy started (from the `started` message's id), for the duration field. */
  startedAt?: number | undefined;
}

/** Discord ids are snowflakes: their top bits are milliseconds since 2015-01-01. */
const DISCORD_EPOCH = 1_420_070_400_000n;

export function snowflakeTime(id: string): number | undefined {
  if (!/^\d{15,20}$/.test(id)) return undefined;
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}

/**
 * `mention-on-failure`: ids separated by commas or spaces. `<@&id>`, `&id` or `role:id` is a role;
 * `<@id>`, `<@!id>`, `@id` or `user:id` a user; a bare id is taken as a role, which is what a
 * team usually has.
 */
export function parseMentions(text: string | undefined, input = 'mention-on-failure'): Mentions | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const mentions: Mentions = { roles: [], users: [] };
  for (const item of text.split(/[\s,]+/).filter((i) => i !== '')) {
    const role = /^(?:<@&(\d+)>|&(\d+)|role:(\d+)|(\d+))$/.exec(item);
    const user = /^(?:<@!?(\d+)>|@(\d+)|user:(\d+))$/.exec(item);
    const roleId = role?.slice(1).find((g) => g !== undefined);
    const userId = user?.slice(1).find((g) => g !== undefined);
    if (roleId !== undefined && /^\d{15,20}$/.test(roleId)) mentions.roles.push(roleId);
    else if (userId !== undefined && /^\d{15,20}$/.test(userId)) mentions.users.push(userId);
    else
      throw new ConfigurationError(
        `"${item}" is not a role or user id (e.g. 123456789012345678 or user:123456789012345678)`,
        input,
      );
  }
  return mentions;
}

/**
 * The commit a version names. The pack's versions are commit SHAs (build-and-tag's short SHA);
 * anything else (a semver tag, a rollback target name) is shown without a link rather than
 * linked to a commit it may not be.
 */
export function commitUrl(version: string | undefined, context: RunContext): string | undefined {
  if (!version || !/^[0-9a-f]{7,40}$/i.test(version)) return undefined;
  if (!context.serverUrl || !context.repository) return undefined;
  return `${context.serverUrl}/${context.repository}/commit/${version}`;
}

/**
 * Text placed inside Markdown must not open links, code, spoilers or `<…>` mentions of its own.
 * Parentheses stay: without an escaped `[` before them they cannot form a link.
 */
function plain(text: string): string {
  return text.replace(/([\\`*_~|[\]<>])/g, '\\$1').replace(/@(everyone|here)/g, '@\u200b$1');
}

/** Build the message for one status: one embed coloured by status, all limits enforced. */
export function buildPayload(notification: Notification, context: RunContext): WebhookPayload {
  const look = LOOK[notification.status];
  const what = [notification.client, notification.service].filter(Boolean).join('/') || 'deploy';
  const fields: EmbedField[] = [];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined && value.trim() !== '') fields.push({ name, value, inline: true });
  };
  add('Client', notification.client && plain(notification.client));
  add('Service', notification.service && plain(notification.service));
  if (notification.version) {
    const link = commitUrl(notification.version, context);
    add('Version', link ? `[\`${notification.version}\`](${link})` : plain(notification.version));
  }
  add('Environment', notification.environment && plain(notification.environment));
  if (notification.status !== 'started' && context.startedAt !== undefined && context.now >= context.startedAt) {
    add('Duration', formatDuration(context.now - context.startedAt));
  }
  add('Actor', context.actor && plain(context.actor));
  if (notification.url) add('URL', notification.url);

  const run = runUrl(context);
  const lines: string[] = [];
  if (notification.status !== 'success' && notification.status !== 'started' && notification.reason) {
    lines.push(plain(notification.reason));
  }
  if (run) lines.push(`[Workflow run](${run})`);

  const embed: Embed = {
    title: `${look.emoji} ${what}${notification.version ? ` ${notification.version}` : ''}: ${look.label}${
      notification.environment ? ` (${notification.environment})` : ''
    }`,
    color: look.color,
    timestamp: new Date(context.now).toISOString(),
    fields,
  };
  if (lines.length > 0) embed.description = lines.join('\n\n');
  if (run) embed.url = run;
  if (context.repository) embed.footer = { text: `swarm-deploy · ${context.repository}` };

  const payload: WebhookPayload = { embeds: [embed], allowed_mentions: { parse: [] } };
  const mentions = FAILED_STATUSES.includes(notification.status) ? notification.mentions : undefined;
  if (mentions && (mentions.roles.length > 0 || mentions.users.length > 0)) {
    payload.content = mentionContent(mentions);
    payload.allowed_mentions = allowedMentions(mentions);
  }
  if (notification.username) payload.username = notification.username;
  if (notification.avatarUrl) payload.avatar_url = notification.avatarUrl;
  if (notification.threadName) payload.thread_name = notification.threadName;
  return fitPayload(payload);
}

export function mentionContent(mentions: Mentions): string {
  return [...mentions.roles.map((id) => `<@&${id}>`), ...mentions.users.map((id) => `<@${id}>`)].join(' ');
}

/** `parse: []` stops @everyone and stray pings; only the ids asked for may ping. */
export function allowedMentions(mentions: Mentions | undefined): AllowedMentions {
  const allowed: AllowedMentions = { parse: [] };
  if (mentions && mentions.roles.length > 0) allowed.roles = [...mentions.roles];
  if (mentions && mentions.users.length > 0) allowed.users = [...mentions.users];
  return allowed;
}
