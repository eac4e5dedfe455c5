import { describe, expect, test } from 'vitest';
import type { ServiceInfo } from '../../../src/state/docker.js';
import { restoreStack } from '../../../src/rollout/deploy.js';
import { PolicyError } from '../../../src/compose/stack.js';
import type { Release } from '../../../src/state/history.js';
import { carriesFingerprint, judgeUnchanged } from '../../../src/rollout/unchanged.js';
import { FINGERPRINT_LABEL, stackFingerprint, withFingerprint } from '../../../src/compose/fingerprint.js';
import { Tenant } from '../../../src/core/tenant.js';
import { service } from '../../support/swarm-fixtures.js';
import type { PolicySettings } from '../../../src/compose/policy.js';

const POLICY: PolicySettings = { mode: 'enforce', allowPublishedPorts: false, domains: [] };

const DIGEST = `registry.example.com/shop/web@sha256:${'a'.repeat(64)}`;
const OTHER = `registry.example.com/shop/web@sha256:${'b'.repeat(64)}`;

function stack(
  options: { image?: string; env?: string; replicas?: number; secret?: string; label?: string; run?: string } = {},
) {
  return `services:
  web:
    image: "${options.image ?? DIGEST}"
    environment:
      MODE: "${options.env ?? 'prod'}"
    secrets: [db]
    deploy:
      replicas: ${options.replicas ?? 2}
      update_config:
        order: "start-first"
      labels:
        swarm-deploy.client: "shop"
        swarm-deploy.release: "${options.run ?? 'r1'}"
        swarm-deploy.git-sha: "${options.run ?? 'r1'}-sha"
        swarm-deploy.run-url: "https://github.com/o/r/actions/runs/${options.run ?? 'r1'}"
        swarm-deploy.actor: "${options.run ?? 'r1'}-actor"
        swarm-deploy.time: "2026-11-23T00:00:00Z-${options.run ?? 'r1'}"
        ${options.label ?? 'team: "web"'}
  worker:
    image: "${options.image ?? DIGEST}"
    deploy:
      mode: global
      labels:
        swarm-deploy.client: "shop"
secrets:
  db:
    external: true
    name: "${options.secret ?? 'shop_db_11111111'}"
`;
}

describe('stackFingerprint', () => {
  const base = stackFingerprint(stack());

  test('ignores what changes on every run: release id, git sha, run URL, actor, time', () => {
    expect(stackFingerprint(stack({ run: 'r2' }))).toBe(base);
  });

  test('ignores the images (compared exactly on their own) and its own label', () => {
    expect(stackFingerprint(stack({ image: OTHER }))).toBe(base);
    expect(stackFingerprint(withFingerprint(stack()))).toBe(base);
    const bare = 'services:\n  web:\n    image: x\n';
    expect(stackFingerprint(withFingerprint(bare))).toBe(stackFingerprint(bare));
  });

  test('ignores key order', () => {
    const reordered = stack().replace(
      '      update_config:\n        order: "start-first"\n',
      '      update_config: {order: "start-first"}\n',
    );
    expect(stackFingerprint(reordered)).toBe(base);
  });

  test.each([
    ['an env value', { env: 'staging' }],
    ['a secret version', { secret: 'shop_db_22222222' }],
    ['the replicas', { replicas: 3 }],
    ['a label that matters (routing)', { label: 'traefik.enable: "true"' }],
  ])('changes with %s', (_what, change) => {
    expect(stackFingerprint(stack(change))).not.toBe(base);
  });

  test('is written on every service, quoted so no YAML reader takes it for a number', () => {
    const text = withFingerprint(stack());
    expect(text.match(new RegExp(`${FINGERPRINT_LABEL.replace('.', '\\.')}: "${base}"`, 'g'))).toHaveLength(2);
  });

  test("a recorded release's stack, restored with its digests and new run labels, keeps its fingerprint", () => {
    const rendered = withFingerprint(stack({ image: 'registry.example.com/shop/web:v1' }));
    const release: Release = {
      id: 'r1',
      client: 'shop',
      kind: 'deploy',
      time: 't',
      verdict: 'deployed',
      images: { shop_web: `registry.example.com/shop/web:v1@sha256:${'a'.repeat(64)}`, shop_worker: DIGEST },
      replicas: { shop_web: 2 },
      secrets: {},
      configs: {},
      stack: rendered,
    };
    // The stack's global worker is refused by an enforcing policy: judged in warn mode here.
    const warn: PolicySettings = { ...POLICY, mode: 'warn' };
    const restored = restoreStack(release, Tenant.parse('shop'), { id: 'r9', time: 'later', actor: 'someone' }, warn);
    expect(stackFingerprint(restored)).toBe(stackFingerprint(rendered));
    expect(
      stackFingerprint(restoreStack(release, Tenant.parse('shop'), { id: 'r9', time: 'later' }, warn, { web: 5 })),
    ).not.toBe(stackFingerprint(rendered));
  });

  test("a scale's new count is judged with the stack: past the platform's maximum it is refused", () => {
    const release: Release = {
      id: 'r1',
      client: 'shop',
      kind: 'deploy',
      time: 't',
      verdict: 'deployed',
      images: {},
      replicas: {},
      secrets: {},
      configs: {},
      stack: withFingerprint(stack().replace('mode: global', 'replicas: 1')),
    };
    const restore = (replicas: Record<string, number>, maxReplicas?: number) =>
      restoreStack(release, Tenant.parse('shop'), { id: 'r9', time: 'later' }, { ...POLICY, maxReplicas }, replicas);
    expect(() => restore({ web: 11 })).toThrow(PolicyError);
    expect(() => restore({ web: 11 })).toThrow(/\[replicas\].*at most 10/);
    expect(() => restore({ web: 4 }, 3)).toThrow(PolicyError);
    expect(restore({ web: 10 })).toContain('replicas: 10');
  });
});

describe('judgeUnchanged', () => {
  const yaml = withFingerprint(stack());
  const fingerprint = stackFingerprint(yaml);
  const labels = { [FINGERPRINT_LABEL]: fingerprint, 'swarm-deploy.release': 'r1' };
  const web = (shape: Parameters<typeof service>[1] = {}) =>
    service('shop_web', { image: DIGEST, replicas: 2, labels, ...shape });
  const worker = (shape: Parameters<typeof service>[1] = {}): ServiceInfo => {
    const info = service('shop_worker', { image: DIGEST, labels, ...shape });
    info.Spec.Mode = { Global: {} };
    return info;
  };
  const live = (...services: ServiceInfo[]) => new Map(services.map((s) => [s.Spec.Name, s]));

  test('the same stack, images and replicas, settled: unchanged, naming the release the services carry', () => {
    expect(judgeUnchanged(yaml, Tenant.parse('shop'), live(web(), worker()))).toEqual({
      unchanged: true,
      release: 'r1',
    });
    // A finished update, or one Swarm rolled back to exactly this spec, is settled too.
    expect(
      judgeUnchanged(yaml, Tenant.parse('shop'), live(web({ update: { state: 'completed' } }), worker())).unchanged,
    ).toBe(true);
  });

  type Case = readonly [string, () => Map<string, ServiceInfo>, RegExp];
  test.each<Case>([
    ['a service does not exist yet', () => live(web()), /shop_worker does not run yet/],
    ['another image runs', () => live(web({ image: OTHER }), worker()), /shop_web runs another image/],
    [
      'the service runs a tag resolved by Swarm while a tag is asked (only Docker can resolve it again)',
      () => live(web({ image: `${DIGEST.split('@')[0]}:v1@sha256:${'a'.repeat(64)}` }), worker()),
      /another image/,
    ],
    ['someone scaled it by hand', () => live(web({ replicas: 3 }), worker()), /runs 3 replicas, not 2/],
    [
      'another version of the stack runs (no fingerprint: deployed before fingerprints)',
      () => live(web({ labels: {} }), worker()),
      /runs another version of the stack/,
    ],
    [
      'half of the stack carries another render (a deploy half-way, or one service rolled back)',
      () => live(web(), worker({ labels: { [FINGERPRINT_LABEL]: 'f'.repeat(32) } })),
      /shop_worker runs another version/,
    ],
    ...['updating', 'paused', 'rollback_started', 'rollback_paused'].map(
      (state) =>
        [
          `an update is ${state}`,
          () => live(web({ update: { state } }), worker()),
          new RegExp(`update in progress \\(${state}\\)`),
        ] as Case,
    ),
  ])('not unchanged when %s', (_label, services, why) => {
    const verdict = judgeUnchanged(yaml, Tenant.parse('shop'), services());
    expect(verdict.unchanged).toBe(false);
    expect(verdict.unchanged ? '' : verdict.why).toMatch(why);
  });

  test('a stack asked with other content is not unchanged', () => {
    expect(
      judgeUnchanged(withFingerprint(stack({ env: 'staging' })), Tenant.parse('shop'), live(web(), worker())).unchanged,
    ).toBe(false);
  });
});

describe('carriesFingerprint (after a deploy that changed no task: a repeat, or a change of labels)', () => {
  const yaml = withFingerprint(stack());
  const labels = { [FINGERPRINT_LABEL]: stackFingerprint(yaml) };
  test.each([
    ['every service carried it', [service('shop_web', { labels }), service('shop_worker', { labels })], true],
    ['one did not', [service('shop_web', { labels }), service('shop_worker')], false],
    ['a service is new', [service('shop_web', { labels })], false],
  ])('%s', (_label, services, expected) => {
    expect(carriesFingerprint(yaml, Tenant.parse('shop'), new Map(services.map((s) => [s.Spec.Name, s])))).toBe(
      expected,
    );
  });
});
