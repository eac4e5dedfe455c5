/**
 * The deploy's job-summary section: a verdict line, a table of services, the reason with the
 * failing tasks' errors and log tails, and the rollout timeline (a list and a Mermaid chart).
 */
import { formatDuration } from '../core/duration.js';
import type { DeployResult } from '../rollout/deploy.js';
import { formatDiff } from '../rollout/plan.js';
import { shortImage } from '../rollout/watch.js';

const ICON: Record<DeployResult['status'], string> = {
  deployed: '✅ deployed',
  'rolled-back': '↩️ rolled back',
  failed: '❌ failed',
  planned: '📝 planned (dry run)',
};

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Mermaid timeline labels may not contain `:` or `#` (they are syntax there). */
function mermaidText(text: string): string {
  return text.replace(/[:#;]/g, ' ').replace(/\s+/g, ' ').trim();
}

export function deploySummary(client: string, result: DeployResult): string {
  const lines: string[] = [];
  lines.push(`### swarm-deploy · ${client} · ${ICON[result.status]}`);
  lines.push('');
  const facts = [
    result.release ? `release \`${result.release}\`` : undefined,
    result.restored ? `restores \`${result.restored}\`` : undefined,
    `took ${formatDuration(result.durationMs)}`,
    result.previousImage ? `previous image \`${shortImage(result.previousImage)}\`` : undefined,
  ].filter(Boolean);
  lines.push(facts.join(' · '));
  if (result.reason) {
    lines.push('', `**Why:** ${cell(result.reason)}`);
  }
  if (result.services.length) {
    lines.push('', '| service | image | running / desired | update state |', '|---|---|---|---|');
    for (const s of result.services)
      lines.push(
        `| ${cell(s.name)} | \`${cell(shortImage(s.image))}\` | ${s.running}/${s.desired} | ${s.updateState} |`,
      );
  }
  if (result.failures.length) {
    lines.push('', '<details><summary>Failing tasks</summary>', '');
    for (const f of result.failures) {
      lines.push(`- **${cell(f.service)}** task \`${f.taskId.slice(0, 12)}\`: ${cell(f.error)}`);
      if (f.logs) {
        const tail = f.logs.split('\n').slice(-10).join('\n');
        // A fence longer than any backtick run in the logs: the container cannot close it early.
        const fence = '`'.repeat(Math.max(3, ...(tail.match(/`+/g) ?? []).map((run) => run.length + 1)));
        lines.push('', `${fence}text`, tail, fence);
      }
    }
    lines.push('', '</details>');
  }
  if (result.diff) lines.push('', '```diff', formatDiff(result.diff), '```');
  if (result.timeline.length > 1 && result.sentAt !== undefined) {
    const sentAt = result.sentAt;
    const at = (t: number) => formatDuration(Math.max(0, t - sentAt));
    lines.push('', '<details><summary>Rollout timeline</summary>', '');
    for (const entry of result.timeline) lines.push(`- \`+${at(entry.at)}\` ${cell(entry.text)}`);
    lines.push('', '```mermaid', 'timeline', `    title Rollout of ${mermaidText(client)}`);
    for (const entry of result.timeline.slice(0, 60)) lines.push(`    +${at(entry.at)} : ${mermaidText(entry.text)}`);
    lines.push('```', '', '</details>');
  }
  return `${lines.join('\n')}\n`;
}
