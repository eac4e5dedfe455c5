import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import {
  currentRelease,
  newReleaseId,
  planPrune,
  RELEASE_ID,
  resolveRollbackTarget,
  type Release,
} from '../../../src/state/history.js';
import { Tenant } from '../../../src/core/tenant.js';
import { actionSpelling } from '../../support/errors.js';
import { actionField } from '../../../src/core/run.js';

describe('newReleaseId', () => {
  test('is the UTC date and time plus three hex characters', () => {
    expect(newReleaseId(new Date('2026-11-23T03:45:12.345Z'), 'a1b')).toBe('20261123-034512-a1b');
    expect(newReleaseId(new Date('2027-01-02T23:05:09Z'), '00f')).toBe('20270102-230509-00f');
  });

  test('matches RELEASE_ID with its own random suffix', () => {
    for (let i = 0; i < 20; i++) expect(newReleaseId()).toMatch(RELEASE_ID);
  });

  test('sorts in time order as plain strings', () => {
    const times = ['2026-01-09T23:59:59Z', '2026-01-10T00:00:00Z', '2026-10-01T08:00:00Z', '2027-02-01T00:00:01Z'];
    const ids = times.map((t, i) => newReleaseId(new Date(t), ['fff', '000', 'abc', '123'][i]));
    expect([...ids].sort()).toEqual(ids);
  });

  test('names its config sdr.<client>.<id>', () => {
    expect(Tenant.parse('shop').releaseConfig('20261123-034512-a1b')).toBe('sdr.shop.20261123-034512-a1b');
  });
});

let seq = 0;
function release(id: string, image: string, extra: Partial<Release> = {}): Release {
  seq++;
  return {
    id,
    client: 'shop',
    kind: 'deploy',
    time: '2026-11-23T00:00:00Z',
    verdict: 'deployed',
    gitSha: `${String(seq).padStart(2, '0')}${'c'.repeat(38)}`,
    imageRef: `registry.example.com/shop/web:${image}`,
    images: { shop_web: `registry.example.com/shop/web:${image}@sha256:${image.padEnd(64, '0').slice(0, 64)}` },
    replicas: { shop_web: 2 },
    secrets: {},
    configs: {},
    stack: 'services: {}\n',
    ...extra,
  };
}

/** Newest first, as readHistory returns them. */
const newestFirst = (...releases: Release[]): Release[] => [...releases].sort((a, b) => (a.id < b.id ? 1 : -1));

const A = release('20261101-100000-aaa', 'a1', { gitSha: 'aaaaaaa1111111111111111111111111111111111'.slice(0, 40) });
const B = release('20261102-100000-bbb', 'b2', { gitSha: 'bbbbbbb2222222222222222222222222222222222'.slice(0, 40) });
const C = release('20261103-100000-ccc', 'c3', { gitSha: 'ccccccc3333333333333333333333333333333333'.slice(0, 40) });

/** A rollback release as runDeploy records it: the restored release's images, sha and tag. */
function rollback(id: string, restored: Release, replaced: Release, verdict: Release['verdict'] = 'deployed'): Release {
  return {
    ...restored,
    id,
    kind: 'rollback',
    verdict,
    restored: restored.id,
    replaced: replaced.id,
  };
}

describe('currentRelease', () => {
  test('is the newest release that ended deployed', () => {
    const failed = release('20261104-100000-ddd', 'd4', { verdict: 'rolled-back' });
    expect(currentRelease(newestFirst(A, B, failed))?.id).toBe(B.id);
    expect(currentRelease([])).toBeUndefined();
  });
});

describe('resolveRollbackTarget: previous', () => {
  test('is the newest deployed release before the current one', () => {
    expect(resolveRollbackTarget(newestFirst(A, B, C), 'previous').id).toBe(B.id);
  });

  test('skips releases that failed or were rolled back', () => {
    const bad1 = release('20261103-110000-e01', 'x1', { verdict: 'rolled-back' });
    const bad2 = release('20261103-120000-e02', 'x2', { verdict: 'failed' });
    // C is current; B is older; the failed ones in between never ran.
    expect(resolveRollbackTarget(newestFirst(A, B, C, bad1, bad2), 'previous').id).toBe(B.id);
    // With failures after B, B is still current and A is previous.
    expect(resolveRollbackTarget(newestFirst(A, B, bad1, bad2), 'previous').id).toBe(A.id);
  });

  test('skips releases that run the same images as the current one (a config-only redeploy)', () => {
    const sameAsB = release('20261102-120000-b22', 'b2');
    expect(resolveRollbackTarget(newestFirst(A, B, sameAsB), 'previous').id).toBe(A.id);
  });

  test('repeated previous walks back instead of toggling: C → B → A → nothing older', () => {
    let history = newestFirst(A, B, C);
    const first = resolveRollbackTarget(history, 'previous');
    expect(first.id).toBe(B.id);
    const r1 = rollback('20261104-100000-r01', first, C);
    history = newestFirst(A, B, C, r1);

    const second = resolveRollbackTarget(history, 'previous');
    expect(second.id).toBe(A.id);
    const r2 = rollback('20261104-110000-r02', second, r1);
    history = newestFirst(A, B, C, r1, r2);

    // Neither B (rolled away from through r1) nor C may come back; A is the oldest.
    expect(() => resolveRollbackTarget(history, 'previous')).toThrow(/no earlier deployed release/);
  });

  test('two releases: previous after a rollback does not toggle back', () => {
    const r1 = rollback('20261103-100000-r01', A, B);
    expect(() => resolveRollbackTarget(newestFirst(A, B, r1), 'previous')).toThrow(ConfigurationError);
  });

  test('a rollback forward by id rolls away from nothing: previous then goes back to what ran before', () => {
    const r1 = rollback('20261103-100000-r01', A, B); // previous: B → A
    const r2 = rollback('20261103-110000-r02', B, r1); // by id: forward to B again
    const target = resolveRollbackTarget(newestFirst(A, B, r1, r2), 'previous');
    expect(target.images).toEqual(A.images);
  });

  test('a new deploy after rollbacks has the last rollback as its previous', () => {
    const r1 = rollback('20261104-100000-r01', B, C);
    const D = release('20261105-100000-ddd', 'd4');
    expect(resolveRollbackTarget(newestFirst(A, B, C, r1, D), 'previous').id).toBe(r1.id);
  });

  test('a rollback that failed rolls away from nothing', () => {
    const r1 = rollback('20261104-100000-r01', B, C, 'rolled-back');
    expect(resolveRollbackTarget(newestFirst(A, B, C, r1), 'previous').id).toBe(B.id);
  });

  test.each([
    ['no release at all', [], /no deployed release to roll back from/],
    ['only one deployed release', [A], /no earlier deployed release/],
    ['only failed ones', [release('20261101-100000-f01', 'f', { verdict: 'failed' })], /no deployed release/],
  ])('refuses with %s', (_label, history, message) => {
    expect(() => resolveRollbackTarget(history, 'previous')).toThrow(ConfigurationError);
    expect(() => resolveRollbackTarget(history, 'previous')).toThrow(message);
  });
});

describe('resolveRollbackTarget: a named release', () => {
  const failed = release('20261104-100000-fff', 'f5', { verdict: 'rolled-back', gitSha: 'f'.repeat(40) });
  const history = newestFirst(A, B, C, failed);

  test('by release id', () => {
    expect(resolveRollbackTarget(history, A.id).id).toBe(A.id);
  });

  test('refuses a release that did not end deployed, naming its verdict and the input', () => {
    expect(() => resolveRollbackTarget(history, failed.id)).toThrow(ConfigurationError);
    expect(actionSpelling(() => resolveRollbackTarget(history, failed.id))).toMatch(
      /Input "rollback-to": release 20261104-100000-fff ended rolled-back/,
    );
    expect(actionSpelling(() => resolveRollbackTarget(history, failed.id, 'version'))).toMatch(/Input "version"/);
  });

  test.each([
    ['a 7-character sha prefix', 'bbbbbbb', B],
    ['a longer prefix', 'aaaaaaa11111', A],
    ['a full sha', C.gitSha ?? '', C],
  ])('by git sha: %s', (_label, wanted, expected) => {
    expect(resolveRollbackTarget(history, wanted).id).toBe(expected.id);
  });

  test('a sha that only a failed release has does not match', () => {
    expect(() => resolveRollbackTarget(history, 'fffffff')).toThrow(/no deployed release matches "fffffff"/);
  });

  test('by image tag, from the requested reference or the resolved images', () => {
    expect(resolveRollbackTarget(history, 'b2').id).toBe(B.id);
    const digestOnly = release('20261101-090000-ddd', 'zz', {
      imageRef: undefined,
      images: { shop_web: `registry.example.com:5000/shop/web:v9@sha256:${'9'.repeat(64)}` },
    });
    expect(resolveRollbackTarget([digestOnly], 'v9').id).toBe(digestOnly.id);
    // A registry port is not a tag.
    expect(() => resolveRollbackTarget([digestOnly], '5000')).toThrow(ConfigurationError);
  });

  test('the newest deployed match wins', () => {
    const again = release('20261105-100000-b02', 'b2', { gitSha: B.gitSha });
    expect(resolveRollbackTarget(newestFirst(A, B, C, again), 'bbbbbbb').id).toBe(again.id);
    expect(resolveRollbackTarget(newestFirst(A, B, C, again), 'b2').id).toBe(again.id);
  });

  test('no match: a clear error listing recent deployed releases with their shas', () => {
    let message = '';
    try {
      resolveRollbackTarget(history, 'v404');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      message = (error as ConfigurationError).spelled(actionField);
    }
    expect(message).toContain('Input "rollback-to"');
    expect(message).toContain('no deployed release matches "v404"');
    expect(message).toContain('expected previous, a release id, a git sha or an image tag');
    expect(message).toContain(`${C.id} (ccccccc), ${B.id} (bbbbbbb), ${A.id} (aaaaaaa)`);
    expect(message).not.toContain(failed.id);
  });

  test('no match and no history says none', () => {
    expect(() => resolveRollbackTarget([], 'v1')).toThrow(/recent: none/);
  });

  test('the list of recent releases is cut at five', () => {
    const many = Array.from({ length: 8 }, (_, i) => release(`2026110${i + 1}-000000-00${i}`, `t${i}`));
    let message = '';
    try {
      resolveRollbackTarget(many, 'nope');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.match(/2026110\d-000000-00\d/g)).toHaveLength(5);
  });
});

/** A redeploy that changed nothing, as runDeploy records it: the runtime of the release it repeats. */
function repeat(id: string, of: Release): Release {
  return { ...of, id, repeats: of.repeats ?? of.id, restored: undefined, replaced: undefined };
}

/** Twelve no-op redeploys of `of`, a minute apart from `day`. */
function noops(of: Release, day: string, count = 12): Release[] {
  return Array.from({ length: count }, (_, i) =>
    repeat(`${day}-10${String(i).padStart(2, '0')}00-e${String(i).padStart(2, '0')}`, of),
  );
}

describe('no-op redeploys never cost a rollback point', () => {
  const V1 = release('20261110-100000-001', 'v1');
  const V2 = release('20261111-100000-002', 'v2');

  test.each([
    ['twelve no-ops after v1 → v2, keep 10', newestFirst(V1, V2, ...noops(V2, '20261112')), 10],
    ['more no-ops than keep-releases, keep 2', newestFirst(V1, V2, ...noops(V2, '20261112', 3)), 2],
    ['keep 1 still keeps the rollback point', newestFirst(V1, V2, ...noops(V2, '20261112', 5)), 1],
  ])('%s: previous is v1 before and after pruning', (_label, history, keep) => {
    expect(resolveRollbackTarget(history, 'previous').id).toBe(V1.id);
    const { kept, dropped } = planPrune(history, keep);
    expect(resolveRollbackTarget(kept, 'previous').id).toBe(V1.id);
    // Of the no-op records only the newest one (what the services' labels name) stays.
    expect(kept.filter((r) => r.repeats !== undefined)).toEqual([history[0]]);
    expect(kept.map((r) => r.id)).toEqual(expect.arrayContaining([V1.id, V2.id]));
    expect(dropped.every((r) => r.repeats !== undefined)).toBe(true);
  });

  test.each([
    // [label, history newest first, keep, ids kept]
    ['nothing to drop', () => newestFirst(A, B, C), 10, [C.id, B.id, A.id]],
    ['the oldest real release goes beyond keep', () => newestFirst(A, B, C), 2, [C.id, B.id]],
    [
      'a failed release counts, but previous survives it',
      () => newestFirst(A, B, release('20261104-100000-ddd', 'd4', { verdict: 'rolled-back' })),
      1,
      ['20261104-100000-ddd', B.id, A.id],
    ],
    [
      'no-ops of an older release are dropped once a newer release runs',
      () => newestFirst(A, ...noops(A, '20261101', 2), B),
      5,
      [B.id, A.id],
    ],
  ])('planPrune: %s', (_label, history, keep, ids) => {
    const { kept, dropped } = planPrune(history(), keep);
    expect(kept.map((r) => r.id)).toEqual(ids);
    expect([...kept, ...dropped].length).toBe(history().length);
  });

  test('a no-op record is never a rollback point of its own: previous names the release it repeats', () => {
    const history = newestFirst(V1, repeat('20261110-110000-0a1', V1), V2);
    expect(resolveRollbackTarget(history, 'previous').id).toBe(V1.id);
    // Its original pruned away, the repeat still brings v1 back.
    expect(resolveRollbackTarget(newestFirst(repeat('20261110-110000-0a1', V1), V2), 'previous').id).toBe(
      '20261110-110000-0a1',
    );
  });

  test('rolling back from a no-op of v2 walks back to v1, then not up to v2 again', () => {
    const U = repeat('20261111-110000-0b1', V2);
    const back = rollback('20261111-120000-0c1', V1, U);
    const V0 = release('20261109-100000-000', 'v0');
    const history = newestFirst(V0, V1, V2, U, back);
    expect(resolveRollbackTarget(history, 'previous').id).toBe(V0.id);
  });

  test('no-ops of the current release while it runs as a rollback keep pointing at the restored one', () => {
    const back = rollback('20261111-120000-0c1', V1, V2);
    const history = newestFirst(V1, V2, back, ...noops(back, '20261112', 4));
    expect(history[0]?.repeats).toBe(back.id);
    const { kept } = planPrune(history, 2);
    expect(kept.map((r) => r.id)).toEqual(expect.arrayContaining([history[0]?.id, back.id]));
  });
});
