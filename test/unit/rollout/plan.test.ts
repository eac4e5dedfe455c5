import { describe, expect, test } from 'vitest';
import type { ServiceInfo } from '../../../src/state/docker.js';
import { formatDiff, planDiff, type StackDiff } from '../../../src/rollout/plan.js';
import { service } from '../../support/swarm-fixtures.js';
import { Tenant } from '../../../src/core/tenant.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const V1 = `registry.example.com/shop/web:v1@${DIGEST}`;

const runningLabels = {
  'com.docker.stack.namespace': 'shop',
  'com.docker.stack.image': 'registry.example.com/shop/web:v1',
  'swarm-deploy.client': 'shop',
  'swarm-deploy.release': '20261101-100000-aaa',
  'swarm-deploy.git-sha': 'a'.repeat(40),
  'swarm-deploy.run-url': 'https://github.com/o/r/actions/runs/1',
  'swarm-deploy.actor': 'octocat',
  'swarm-deploy.time': '2026-11-01T10:00:00Z',
  tier: 'web',
};

function running(...services: ServiceInfo[]): Map<string, ServiceInfo> {
  return new Map(services.map((s) => [s.Spec.Name, s]));
}

const web = service('shop_web', {
  image: V1,
  replicas: 2,
  env: ['GREETING=hello', 'PRICE=$5'],
  labels: runningLabels,
  secrets: ['shop_db-password_e3b0c442'],
});

/** A rendered stack as the deploy would send it, with `$$` escapes and this run's release labels. */
function rendered(
  overrides: { image?: string; env?: string; labels?: string; secret?: string; replicas?: number } = {},
) {
  return `services:
  web:
    image: ${overrides.image ?? 'registry.example.com/shop/web:v1'}
    environment:
${overrides.env ?? '      GREETING: hello\n      PRICE: $$5'}
    secrets:
      - source: db-password
    deploy:
      replicas: ${overrides.replicas ?? 2}
      labels:
${overrides.labels ?? '        tier: web'}
        swarm-deploy.client: shop
        swarm-deploy.release: 20261123-034512-b0b
        swarm-deploy.git-sha: ${'b'.repeat(40)}
        swarm-deploy.run-url: https://github.com/o/r/actions/runs/2
        swarm-deploy.actor: someone-else
        swarm-deploy.time: 2026-11-23T03:45:12Z
secrets:
  db-password:
    external: true
    name: ${overrides.secret ?? 'shop_db-password_e3b0c442'}
`;
}

const plan = (yaml: string, now = running(web)): StackDiff => planDiff(now, yaml, Tenant.parse('shop'));

describe('planDiff', () => {
  test('the same stack, with new release labels and $$ escapes, is unchanged', () => {
    expect(plan(rendered())).toEqual({ added: [], removed: [], changed: [], unchanged: ['shop_web'] });
  });

  test('a pinned digest equal to the running one is unchanged; another digest is a change', () => {
    expect(plan(rendered({ image: V1 })).unchanged).toEqual(['shop_web']);
    const other = `registry.example.com/shop/web:v1@sha256:${'b'.repeat(64)}`;
    expect(plan(rendered({ image: other })).changed).toEqual([
      { service: 'shop_web', changes: [{ field: 'image', from: V1, to: other }] },
    ]);
  });

  test.each([
    [
      'image',
      { image: 'registry.example.com/shop/web:v2' },
      { field: 'image', from: V1, to: 'registry.example.com/shop/web:v2' },
    ],
    [
      'env value',
      { env: '      GREETING: bonjour\n      PRICE: $$5' },
      { field: 'env', from: 'GREETING=hello', to: 'GREETING=bonjour' },
    ],
    [
      'env added (list form)',
      { env: '      - GREETING=hello\n      - PRICE=$$5\n      - MODE=fast' },
      { field: 'env', from: '—', to: 'MODE=fast' },
    ],
    ['env removed', { env: '      GREETING: hello' }, { field: 'env', from: 'PRICE=$5', to: '—' }],
    ['label', { labels: '        tier: api' }, { field: 'labels', from: 'tier=web', to: 'tier=api' }],
    [
      'secret version',
      { secret: 'shop_db-password_0badf00d' },
      { field: 'secrets', from: 'shop_db-password_e3b0c442', to: 'shop_db-password_0badf00d' },
    ],
    ['replicas', { replicas: 5 }, { field: 'replicas', from: '2', to: '5' }],
  ])('reports a changed %s', (_label, overrides, change) => {
    expect(plan(rendered(overrides)).changed).toEqual([{ service: 'shop_web', changes: [change] }]);
  });

  test('$$ in env values reads as one $ (how docker stack deploy unescapes it)', () => {
    const diff = plan(rendered({ env: '      GREETING: hello\n      PRICE: $$6' }));
    expect(diff.changed[0]?.changes).toEqual([{ field: 'env', from: 'PRICE=$5', to: 'PRICE=$6' }]);
  });

  test('several changes of one service are listed together', () => {
    const diff = plan(rendered({ image: 'registry.example.com/shop/web:v2', replicas: 3 }));
    expect(diff.changed[0]?.changes.map((c) => c.field)).toEqual(['image', 'replicas']);
  });

  test('services added to the stack and services no longer in it', () => {
    const old = service('shop_old', { image: 'registry.example.com/shop/old:v1' });
    const withWorker = rendered().replace(
      'services:\n',
      'services:\n  worker:\n    image: registry.example.com/shop/worker:v1\n',
    );
    const diff = plan(withWorker, running(web, old));
    expect(diff.added).toEqual(['shop_worker']);
    expect(diff.removed).toEqual(['shop_old']);
    expect(diff.unchanged).toEqual(['shop_web']);
  });

  test('an empty or missing services section adds nothing and lists every running service as removed', () => {
    expect(plan('', running(web))).toEqual({ added: [], removed: ['shop_web'], changed: [], unchanged: [] });
    expect(plan('services: {}\n', running())).toEqual({ added: [], removed: [], changed: [], unchanged: [] });
  });

  test('labels in list form are compared like the mapping form', () => {
    const list = rendered({ labels: '        - tier=web\n        - swarm-deploy.client=shop' }).replace(
      / {8}swarm-deploy\.[^\n]*: [^\n]*\n/g,
      '',
    );
    expect(list).toContain('- tier=web');
    expect(plan(list).unchanged).toEqual(['shop_web']);
    expect(plan(list.replace('- tier=web', '- tier=a=b')).changed[0]?.changes).toEqual([
      { field: 'labels', from: 'tier=web', to: 'tier=a=b' },
    ]);
  });
});

describe('formatDiff', () => {
  test('one line per service, changes indented with from → to', () => {
    const text = formatDiff({
      added: ['shop_worker'],
      removed: ['shop_old'],
      changed: [{ service: 'shop_web', changes: [{ field: 'image', from: 'web:v1', to: 'web:v2' }] }],
      unchanged: ['shop_db'],
    });
    expect(text.split('\n')).toEqual([
      '+ shop_worker (new service)',
      '- shop_old (no longer in the stack; removed only with prune: true)',
      '~ shop_web',
      '    image: web:v1 → web:v2',
      '= shop_db (unchanged)',
    ]);
  });

  test('an empty diff says so', () => {
    expect(formatDiff({ added: [], removed: [], changed: [], unchanged: [] })).toBe('(the stack is empty)');
  });
});
