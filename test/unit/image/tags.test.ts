import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { runEnvironment } from '../../../src/image/commit.js';
import {
  computeTags,
  isValidTag,
  ociLabels,
  sanitizeImageName,
  sanitizeTag,
  semverTag,
  type TagOptions,
} from '../../../src/image/tags.js';
import { actionSpelling } from '../../support/errors.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const HEAD_SHA = 'fedcba9876543210fedcba9876543210fedcba98';

describe('isValidTag', () => {
  test.each([
    ['abc1234', true],
    ['1.2.3', true],
    ['feature_x-1.0', true],
    ['_underscore', true],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['.hidden', false],
    ['-dash', false],
    ['has space', false],
    ['slash/branch', false],
    ['plus+build', false],
    ['', false],
  ])('%s → %s', (tag, valid) => {
    expect(isValidTag(tag)).toBe(valid);
  });
});

describe('sanitizeTag', () => {
  test.each([
    ['main', 'main'],
    ['feature/login-page', 'feature-login-page'],
    ['Feature//Ünïcode  name', 'Feature-n-code-name'],
    ['-leading.dash', 'leading.dash'],
    ['..dots', 'dots'],
    ['trailing/', 'trailing'],
    ['///', undefined],
    ['x'.repeat(200), 'x'.repeat(128)],
  ])('%s → %s', (text, tag) => {
    const result = sanitizeTag(text);
    expect(result).toBe(tag);
    if (result !== undefined) expect(isValidTag(result)).toBe(true);
  });
});

describe('sanitizeImageName', () => {
  test.each([
    ['client-a-node', 'client-a-node'],
    ['Client-A Node', 'client-a-node'],
    ['team/Client_App', 'team/client_app'],
    ['a..b', 'a-b'],
    ['a__b', 'a__b'],
    ['a._b', 'a-b'],
    ['  -web-  ', 'web'],
    [
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/Client App',
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/client-app',
    ],
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app'],
    ['localhost/team/app', 'localhost/team/app'],
  ])('%s → %s', (name, sanitized) => {
    expect(sanitizeImageName(name)).toBe(sanitized);
  });

  test.each(['', '!!!', 'team//app', 'a'.repeat(257), 'bad_host.com:x/app'])('refuses %j, naming the input', (name) => {
    expect(() => sanitizeImageName(name)).toThrow(ConfigurationError);
    expect(actionSpelling(() => sanitizeImageName(name))).toMatch(/Input "name"/);
  });
});

describe('semverTag', () => {
  test.each([
    ['v1.2.3', '1.2.3'],
    ['v0.0.1-rc.1', '0.0.1-rc.1'],
    ['v1.2.3-beta+build.5', '1.2.3-beta_build.5'],
    ['v1.2', undefined],
    ['1.2.3', undefined],
    ['v01.2.3', undefined],
    ['version-1', undefined],
  ])('%s → %s', (gitTag, tag) => {
    expect(semverTag(gitTag)).toBe(tag);
  });
});

function options(overrides: Partial<TagOptions> & { ref?: string; headRef?: string } = {}): TagOptions {
  const { ref, headRef, ...rest } = overrides;
  return {
    commit: { sha: SHA, ref: ref ?? 'refs/heads/main', headRef },
    shaLength: 7,
    extraTags: [],
    branchTag: false,
    allowLatest: false,
    ...rest,
  };
}

describe('computeTags', () => {
  test.each<[string, Partial<TagOptions> & { ref?: string; headRef?: string }, string[]]>([
    ['a branch push: short SHA only', {}, ['0123456']],
    ['sha-length 12', { shaLength: 12 }, ['0123456789ab']],
    ['a v* git tag adds the semver', { ref: 'refs/tags/v2.4.0' }, ['0123456', '2.4.0']],
    ['a non-v git tag adds nothing', { ref: 'refs/tags/release-1' }, ['0123456']],
    ['branch tag, sanitized', { branchTag: true, ref: 'refs/heads/feature/x y' }, ['0123456', 'feature-x-y']],
    [
      'branch tag of a PR uses the head branch',
      { branchTag: true, ref: 'refs/pull/7/merge', headRef: 'fix/bug' },
      ['0123456', 'fix-bug'],
    ],
    ['extra tags after, duplicates dropped', { extraTags: ['stable', '0123456', 'stable'] }, ['0123456', 'stable']],
    ['latest allowed when asked', { extraTags: ['latest'], allowLatest: true }, ['0123456', 'latest']],
  ])('%s', (_name, overrides, tags) => {
    const plan = computeTags(options(overrides));
    expect(plan.tags).toEqual(tags);
    expect(plan.version).toBe(tags[0]);
    for (const tag of plan.tags) expect(isValidTag(tag)).toBe(true);
  });

  test('semver is reported for the version label', () => {
    expect(computeTags(options({ ref: 'refs/tags/v1.0.0' })).semver).toBe('1.0.0');
  });

  test('a v* tag that is not semver is noted, not tagged', () => {
    const plan = computeTags(options({ ref: 'refs/tags/vNext' }));
    expect(plan.tags).toEqual(['0123456']);
    expect(plan.notes.join()).toMatch(/vNext.*not a semantic version/);
  });

  test('a branch called latest is skipped unless allowed', () => {
    expect(computeTags(options({ branchTag: true, ref: 'refs/heads/latest' })).tags).toEqual(['0123456']);
    expect(computeTags(options({ branchTag: true, ref: 'refs/heads/latest', allowLatest: true })).tags).toEqual([
      '0123456',
      'latest',
    ]);
  });

  test.each([['latest'], ['Latest']])('extra tag %s is refused without allow-latest', (tag) => {
    expect(actionSpelling(() => computeTags(options({ extraTags: [tag] })))).toMatch(/Input "tags".*allow-latest/);
  });

  test.each([['-bad'], ['.bad'], ['with/slash'], ['x'.repeat(129)]])('invalid extra tag %s is refused', (tag) => {
    expect(actionSpelling(() => computeTags(options({ extraTags: [tag] })))).toMatch(/Input "tags".*not a valid tag/);
  });

  test.each([['abc'], ['0123456789ABCDEF0123456789ABCDEF0123456Z']])('refuses commit id %s', (sha) => {
    expect(() => computeTags({ ...options(), commit: { sha, ref: undefined, headRef: undefined } })).toThrow(
      ConfigurationError,
    );
  });
});

describe('runEnvironment', () => {
  const base = {
    GITHUB_SHA: SHA,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REPOSITORY: 'acme/client-a',
    GITHUB_SERVER_URL: 'https://github.com',
  };

  test('a push uses GITHUB_SHA', () => {
    const run = runEnvironment({ ...base, GITHUB_EVENT_NAME: 'push' }, { pull_request: { head: { sha: HEAD_SHA } } });
    expect(run.commit?.sha).toBe(SHA);
    expect(run.repositoryUrl).toBe('https://github.com/acme/client-a');
  });

  test.each([['pull_request'], ['pull_request_target']])('%s uses the PR head SHA, not the merge commit', (event) => {
    const run = runEnvironment(
      { ...base, GITHUB_EVENT_NAME: event, GITHUB_REF: 'refs/pull/7/merge', GITHUB_HEAD_REF: 'fix/bug' },
      { pull_request: { head: { sha: HEAD_SHA } } },
    );
    expect(run.commit).toEqual({ sha: HEAD_SHA, ref: 'refs/pull/7/merge', headRef: 'fix/bug' });
  });

  test('no GITHUB_SHA: no commit (the action falls back to git)', () => {
    expect(runEnvironment({}, undefined)).toEqual({ commit: undefined, repositoryUrl: undefined });
  });
});

describe('ociLabels', () => {
  test('revision, source, created, version, title', () => {
    const labels = ociLabels({
      sha: SHA,
      source: 'https://github.com/acme/client-a',
      created: new Date(Date.UTC(2025, 0, 2, 3, 4, 5)),
      version: '1.2.3',
      title: 'client-a-node',
    });
    expect(Object.fromEntries(labels)).toEqual({
      'org.opencontainers.image.title': 'client-a-node',
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.source': 'https://github.com/acme/client-a',
      'org.opencontainers.image.version': '1.2.3',
      'org.opencontainers.image.created': '2025-01-02T03:04:05.000Z',
    });
  });

  test('no repository: no source label', () => {
    const labels = ociLabels({ sha: SHA, source: undefined, created: new Date(0), version: 'x', title: 't' });
    expect(labels.has('org.opencontainers.image.source')).toBe(false);
  });
});
