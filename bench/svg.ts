/**
 * Two hand-written SVG charts for docs/benchmarks.md: measured ratios against their targets, and
 * the replicas of one rollout over time (each task a bar, coloured by the version it ran).
 */
import type { TimelineCapture } from './latency.js';

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface RatioBar {
  label: string;
  value: number;
  target: number;
  /** How the target reads: "≤ 1.05". */
  targetText: string;
}

/** Horizontal bars of measured ratios, each with its target as a tick; red when the target is missed. */
export function ratioChart(bars: RatioBar[]): string {
  const width = 720;
  const left = 260;
  const row = 34;
  const height = 40 + bars.length * row + 30;
  const max = Math.max(1.2, ...bars.map((b) => Math.max(b.value, b.target) * 1.1));
  const x = (v: number) => left + (v / max) * (width - left - 90);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="14" font-weight="bold">Measured ratio (median) and target</text>`,
  ];
  bars.forEach((bar, i) => {
    const y = 40 + i * row;
    const ok = bar.value <= bar.target;
    parts.push(
      `<text x="12" y="${y + 16}">${esc(bar.label)}</text>`,
      `<rect x="${left}" y="${y + 4}" width="${Math.max(1, x(bar.value) - left).toFixed(1)}" height="16" fill="${ok ? '#2e7d32' : '#c62828'}"/>`,
      `<line x1="${x(bar.target).toFixed(1)}" y1="${y}" x2="${x(bar.target).toFixed(1)}" y2="${y + 24}" stroke="#000" stroke-width="2" stroke-dasharray="3,2"/>`,
      `<text x="${(x(bar.value) + 6).toFixed(1)}" y="${y + 16}">${bar.value.toFixed(2)} (target ${esc(bar.targetText)})</text>`,
    );
  });
  const axisY = 40 + bars.length * row + 6;
  parts.push(`<line x1="${left}" y1="${axisY}" x2="${x(max).toFixed(1)}" y2="${axisY}" stroke="#888"/>`);
  for (let v = 0; v <= max; v += max > 3 ? 1 : 0.5)
    parts.push(
      `<text x="${x(v).toFixed(1)}" y="${axisY + 14}" text-anchor="middle" fill="#555">${v.toFixed(1)}</text>`,
    );
  parts.push('</svg>');
  return parts.join('\n');
}

const PALETTE = ['#1565c0', '#c62828', '#2e7d32', '#ef6c00', '#6a1b9a'];

/** Each replica slot is a lane; each task a bar from creation to its end, coloured by version. */
export function timelineChart(capture: TimelineCapture): string {
  const t0 = capture.sentAt;
  const relevant = capture.tasks.filter((t) => (Number.isNaN(t.endedAt) ? capture.returnedAt : t.endedAt) >= t0 - 2000);
  const tasks = relevant.sort((a, b) => a.slot - b.slot || a.createdAt - b.createdAt);
  const end = Math.max(capture.returnedAt, ...tasks.map((t) => (Number.isNaN(t.endedAt) ? 0 : t.endedAt))) + 1000;
  const start = Math.min(t0, ...tasks.map((t) => Math.max(t.createdAt, t0 - 2000)));
  const versions = [...new Set(tasks.map((t) => t.version))];
  const color = (v: string) => PALETTE[versions.indexOf(v) % PALETTE.length] as string;
  const width = 760;
  const left = 90;
  const lanes: { slot: number; tasks: typeof tasks }[] = [];
  for (const task of tasks) {
    // Start-first: a new task overlaps the old one in its slot, so it gets its own sub-lane.
    const lane = lanes.find(
      (l) =>
        l.slot === task.slot &&
        l.tasks.every((o) => (Number.isNaN(o.endedAt) ? Infinity : o.endedAt) <= task.createdAt),
    );
    if (lane) lane.tasks.push(task);
    else lanes.push({ slot: task.slot, tasks: [task] });
  }
  const laneHeight = 22;
  const top = 40;
  const chartBottom = top + lanes.length * laneHeight + 10;
  const events = capture.events.filter((e) => e.at >= start && e.at <= end);
  const height = chartBottom + 40 + events.length * 15 + 20 + versions.length * 16;
  const x = (t: number) => left + ((t - start) / (end - start)) * (width - left - 20);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="14" font-weight="bold">One rollout with an automatic rollback: each replica's version over time</text>`,
  ];
  lanes.forEach((lane, i) => {
    const y = top + i * laneHeight;
    parts.push(`<text x="12" y="${y + 14}">replica ${lane.slot}</text>`);
    for (const task of lane.tasks) {
      const from = Math.max(task.createdAt, start);
      const to = Number.isNaN(task.endedAt) ? end : task.endedAt;
      parts.push(
        `<rect x="${x(from).toFixed(1)}" y="${y + 3}" width="${Math.max(2, x(to) - x(from)).toFixed(1)}" height="15" fill="${color(task.version)}" opacity="0.85"><title>${esc(`${task.version}: ${task.state}${task.error ? ` (${task.error})` : ''}`)}</title></rect>`,
      );
      if (task.state === 'failed' || task.state === 'rejected')
        parts.push(`<text x="${(x(to) + 2).toFixed(1)}" y="${y + 14}" fill="#c62828">✕</text>`);
    }
  });
  // Time axis, seconds after the deploy was sent.
  parts.push(`<line x1="${left}" y1="${chartBottom}" x2="${width - 20}" y2="${chartBottom}" stroke="#888"/>`);
  const span = (end - start) / 1000;
  const step = span > 60 ? 10 : span > 20 ? 5 : 2;
  for (let s = Math.ceil((start - t0) / 1000 / step) * step; t0 + s * 1000 <= end; s += step) {
    const px = x(t0 + s * 1000);
    parts.push(
      `<line x1="${px.toFixed(1)}" y1="${chartBottom}" x2="${px.toFixed(1)}" y2="${chartBottom + 4}" stroke="#888"/>`,
      `<text x="${px.toFixed(1)}" y="${chartBottom + 16}" text-anchor="middle" fill="#555">${s}s</text>`,
    );
  }
  // The rollout's events (the same list the job summary's Mermaid timeline shows), numbered.
  events.forEach((event, i) => {
    const px = x(event.at);
    parts.push(
      `<line x1="${px.toFixed(1)}" y1="${top - 4}" x2="${px.toFixed(1)}" y2="${chartBottom}" stroke="#999" stroke-dasharray="2,3"/>`,
      `<text x="${px.toFixed(1)}" y="${top - 6}" text-anchor="middle" font-size="9" fill="#333">${i + 1}</text>`,
      `<text x="12" y="${chartBottom + 36 + i * 15}">${i + 1}. +${((event.at - t0) / 1000).toFixed(1)}s ${esc(event.text.slice(0, 110))}</text>`,
    );
  });
  const legendY = chartBottom + 36 + events.length * 15 + 8;
  versions.forEach((v, i) => {
    parts.push(
      `<rect x="12" y="${legendY + i * 16}" width="12" height="12" fill="${color(v)}"/>`,
      `<text x="30" y="${legendY + i * 16 + 10}">${esc(v)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
