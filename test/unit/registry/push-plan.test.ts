import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import type { RemoteImage } from '../../../src/registry/ecr.js';
import { parseSourceRef, planPush, sameImage, type LocalImage } from '../../../src/registry/push-plan.js';

const URI = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app';
const ID = `sha256:${'1'.repeat(64)}`;
const OTHER_ID = `sha256:${'2'.repeat(64)}`;
const DIGEST = `sha256:${'d'.repeat(64)}`;
const OTHER_DIGEST = `sha256:${'e'.repeat(64)}`;
const local: LocalImage = { id: ID, repoDigests: [] };

function remote(tag: string, digest: string, configDigest: string | undefined): RemoteImage {
  return { tag, digest, configDigest };
}

describe('sameImage', () => {
  test.each<[string, LocalImage, RemoteImage, boolean]>([
    ['config digest equals the image id', local, remote('a', DIGEST, ID), true],
    ['config digest of another image', local, remote('a', DIGEST, OTHER_ID), false],
    [
      'a manifest list, known by repo digest',
      { id: ID, repoDigests: [`${URI}@${DIGEST}`] },
      remote('a', DIGEST, undefined),
      true,
    ],
    [
      'a manifest list, digest of another repository',
      { id: ID, repoDigests: [`other/app@${DIGEST}`] },
      remote('a', DIGEST, undefined),
      false,
    ],
  ])('%s → %s', (_name, image, remoteImage, expected) => {
    expect(sameImage(image, remoteImage, URI)).toBe(expected);
  });
});

describe('planPush', () => {
  test.each<
    [
      string,
      string,
      RemoteImage[],
      { push: string[]; present: string[]; moved: string[]; knownDigest: string | undefined },
    ]
  >([
    [
      'nothing there yet',
      'IMMUTABLE',
      [],
      { push: ['abc1234', '1.0.0'], present: [], moved: [], knownDigest: undefined },
    ],
    [
      'every tag holds this image: nothing to push',
      'IMMUTABLE',
      [remote('abc1234', DIGEST, ID), remote('1.0.0', DIGEST, ID)],
      { push: [], present: ['abc1234', '1.0.0'], moved: [], knownDigest: DIGEST },
    ],
    [
      'one tag there, the other new',
      'IMMUTABLE',
      [remote('abc1234', DIGEST, ID)],
      { push: ['1.0.0'], present: ['abc1234'], moved: [], knownDigest: DIGEST },
    ],
    [
      'another image under a tag of a mutable repository moves it',
      'MUTABLE',
      [remote('abc1234', OTHER_DIGEST, OTHER_ID)],
      { push: ['abc1234', '1.0.0'], present: [], moved: ['abc1234'], knownDigest: undefined },
    ],
    [
      'with exclusions ECR decides at push time',
      'IMMUTABLE_WITH_EXCLUSION',
      [remote('abc1234', OTHER_DIGEST, OTHER_ID)],
      { push: ['abc1234', '1.0.0'], present: [], moved: ['abc1234'], knownDigest: undefined },
    ],
  ])('%s', (_name, tagMutability, remotes, expected) => {
    const plan = planPush({
      tags: ['abc1234', '1.0.0'],
      remote: new Map(remotes.map((r) => [r.tag, r])),
      local,
      repositoryUri: URI,
      tagMutability,
    });
    expect(plan).toEqual(expected);
  });

  test('another image under a tag of an immutable repository is an error naming tag and digest', () => {
    const call = () =>
      planPush({
        tags: ['abc1234', '1.0.0'],
        remote: new Map([['1.0.0', remote('1.0.0', OTHER_DIGEST, OTHER_ID)]]),
        local,
        repositoryUri: URI,
        tagMutability: 'IMMUTABLE',
      });
    expect(call).toThrow(ConfigurationError);
    expect(call).toThrow(`${URI} is immutable and already has 1.0.0 (holds ${OTHER_DIGEST})`);
    expect(call).toThrow(/nothing was pushed/);
  });
});

describe('parseSourceRef', () => {
  test.each([
    ['client-a-node:abc1234', 'client-a-node', 'abc1234'],
    ['team/app:1.2.3', 'team/app', '1.2.3'],
    ['127.0.0.1:5000/app:v1', '127.0.0.1:5000/app', 'v1'],
  ])('%s', (ref, name, tag) => {
    expect(parseSourceRef(ref)).toEqual({ ref, name, tag });
  });

  test.each([
    ['app', /has no tag/],
    ['127.0.0.1:5000/app', /has no tag/],
    ['app:', /has no tag/],
    [`app@${DIGEST}`, /digest reference/],
  ])('refuses %s', (ref, message) => {
    expect(() => parseSourceRef(ref)).toThrow(message);
  });
});
