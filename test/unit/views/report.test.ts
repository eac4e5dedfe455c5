import { describe, expect, test } from 'vitest';
import type { DeployResult } from '../../../src/rollout/deploy.js';
import { deploySummary } from '../../../src/views/report.js';

const SENT = Date.parse('2026-11-23T10:00:00Z');
const DIGEST = `sha256:${'ab12cd34ef56'.repeat(5)}abcd`;

function result(overrides: Partial<DeployResult> = {}): DeployResult {
  return {
    status: 'rolled-back',
    reason: 'shop_web: new tasks failed — task: non-zero exit (3)',
    release: '20261123-100000-a1b',
    previousImage: `registry.example.com/shop/web:v1@${DIGEST}`,
    durationMs: 83_400,
    services: [
      {
        name: 'shop_web',
        image: `registry.example.com/shop/web:v1@${DIGEST}`,
        running: 2,
        desired: 2,
        updateState: 'rollback_completed',
        phase: 'rollback_completed',
      },
    ],
    timeline: [
      { at: SENT, text: 'deploy sent' },
      { at: SENT + 1_500, text: 'shop_web.1 running web:v2@abc' },
      { at: SENT + 4_000, text: 'shop_web.1 failed: task: non-zero exit (3)' },
      { at: SENT + 4_200, text: 'shop_web: Swarm started rolling back' },
      { at: SENT + 9_000, text: 'rollback completed: the previous version #1 is serving; done' },
    ],
    sentAt: SENT,
    failures: [
      {
        service: 'shop_web',
        taskId: 'k3j4h5g6f7d8s9a0qwerty',
        error: 'task: non-zero exit (3)',
        logs: Array.from({ length: 14 }, (_, i) => `line ${i + 1}`).join('\n'),
      },
    ],
    ...overrides,
  };
}

function mermaid(summary: string): string[] {
  const block = /```mermaid\n([\s\S]*?)```/.exec(summary)?.[1] ?? '';
  return block.split('\n').filter(Boolean);
}

describe('deploySummary', () => {
  test('the heading names the client and the verdict', () => {
    expect(deploySummary('shop', result())).toMatch(/^### swarm-deploy · shop · ↩️ rolled back\n/);
    expect(deploySummary('shop', result({ status: 'deployed', reason: undefined }))).toContain('✅ deployed');
    expect(deploySummary('shop', result({ status: 'failed' }))).toContain('❌ failed');
    expect(deploySummary('shop', result({ status: 'planned' }))).toContain('📝 planned (dry run)');
  });

  test('facts: release, restored release, duration and the previous image', () => {
    const summary = deploySummary('shop', result({ restored: '20261101-000000-fff' }));
    expect(summary).toContain(
      'release `20261123-100000-a1b` · restores `20261101-000000-fff` · took 1m23.4s · previous image `web:v1@ab12cd34ef56`',
    );
  });

  test('the reason follows "Why"', () => {
    expect(deploySummary('shop', result())).toContain('**Why:** shop_web: new tasks failed — task: non-zero exit (3)');
    expect(deploySummary('shop', result({ reason: undefined }))).not.toContain('**Why:**');
  });

  test('a table of services with short images and running/desired', () => {
    const summary = deploySummary('shop', result());
    expect(summary).toContain('| service | image | running / desired | update state |\n|---|---|---|---|');
    expect(summary).toContain('| shop_web | `web:v1@ab12cd34ef56` | 2/2 | rollback_completed |');
  });

  test('pipes and newlines in cells cannot break the table or the reason', () => {
    const summary = deploySummary(
      'shop',
      result({
        reason: 'a | b\nc',
        services: [{ name: 'x|y', image: 'i', running: 0, desired: 1, updateState: 'paused', phase: 'paused' }],
      }),
    );
    expect(summary).toContain('**Why:** a \\| b c');
    expect(summary).toContain('| x\\|y | `i` | 0/1 | paused |');
  });

  test('failing tasks with their error and the last ten log lines', () => {
    const summary = deploySummary('shop', result());
    expect(summary).toContain('<details><summary>Failing tasks</summary>');
    expect(summary).toContain('- **shop_web** task `k3j4h5g6f7d8`: task: non-zero exit (3)');
    expect(summary).toContain('```text\nline 5\nline 6');
    expect(summary).toContain('line 14\n```');
    expect(summary).not.toContain('line 4\n');
  });

  test('log lines cannot close the code block they are shown in', () => {
    const logs = 'normal\n```\n## injected heading\n`````';
    const summary = deploySummary('shop', result({ failures: [{ service: 's', taskId: 't', error: 'e', logs }] }));
    expect(summary).toContain(`\`\`\`\`\`\`text\n${logs}\n\`\`\`\`\`\``);
  });

  test('no failing-tasks section without failures', () => {
    expect(deploySummary('shop', result({ failures: [] }))).not.toContain('Failing tasks');
  });

  test('a timeline list with offsets from the deploy and a Mermaid chart', () => {
    const summary = deploySummary('shop', result());
    expect(summary).toContain('- `+0s` deploy sent');
    expect(summary).toContain('- `+4s` shop_web.1 failed: task: non-zero exit (3)');
    const chart = mermaid(summary);
    expect(chart[0]).toBe('timeline');
    expect(chart[1]).toBe('    title Rollout of shop');
    expect(chart.slice(2)).toHaveLength(5);
    expect(chart[2]).toBe('    +0s : deploy sent');
  });

  test('Mermaid labels carry no ":" "#" or ";" (syntax there): only the one separator per line', () => {
    const chart = mermaid(deploySummary('shop', result()));
    for (const line of chart.slice(2)) {
      const [, label = ''] = line.split(' : ');
      expect(line.split(':')).toHaveLength(2);
      expect(label).not.toMatch(/[:#;]/);
    }
    expect(chart).toContain('    +4s : shop_web.1 failed task non-zero exit (3)');
    expect(chart).toContain('    +9s : rollback completed the previous version 1 is serving done');
  });

  test('the chart is cut at 60 entries; the list is complete', () => {
    const timeline = Array.from({ length: 80 }, (_, i) => ({ at: SENT + i * 1000, text: `event ${i}` }));
    const summary = deploySummary('shop', result({ timeline }));
    expect(mermaid(summary).slice(2)).toHaveLength(60);
    expect(summary).toContain('- `+1m19s` event 79');
  });

  test('no timeline without a send time or with a single entry', () => {
    expect(deploySummary('shop', result({ sentAt: undefined }))).not.toContain('mermaid');
    expect(deploySummary('shop', result({ timeline: [{ at: SENT, text: 'deploy sent' }] }))).not.toContain('timeline');
  });

  test('a dry run shows the diff', () => {
    const summary = deploySummary(
      'shop',
      result({
        status: 'planned',
        diff: { added: ['shop_api'], removed: [], changed: [], unchanged: ['shop_web'] },
      }),
    );
    expect(summary).toContain('```diff\n+ shop_api (new service)\n= shop_web (unchanged)\n```');
  });
});
