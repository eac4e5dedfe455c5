import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { buildCommand, metadataDigest, type BuildPlan } from '../../../src/image/docker-build.js';

function plan(overrides: Partial<BuildPlan> = {}): BuildPlan {
  return {
    builder: 'classic',
    context: '.',
    dockerfile: undefined,
    refs: ['app:abc1234'],
    labels: new Map(),
    buildArgs: new Map(),
    target: undefined,
    platforms: [],
    cacheFrom: [],
    cacheTo: [],
    push: false,
    iidFile: '/tmp/w/iid',
    metadataFile: undefined,
    ...overrides,
  };
}

const CACHE = 'type=registry,ref=123.dkr.ecr.eu-west-1.amazonaws.com/app:buildcache';

describe('buildCommand', () => {
  test.each<[string, Partial<BuildPlan>, string[]]>([
    ['classic, minimal', {}, ['docker', 'build', '--tag', 'app:abc1234', '--iidfile', '/tmp/w/iid', '.']],
    [
      'classic, everything it supports',
      {
        context: 'svc',
        dockerfile: 'svc/Dockerfile.prod',
        refs: ['app:abc1234', 'app:1.2.3'],
        labels: new Map([['org.opencontainers.image.revision', 'abc']]),
        buildArgs: new Map([['NODE_ENV', 'production']]),
        target: 'runtime',
        platforms: ['linux/amd64'],
      },
      [
        'docker',
        'build',
        '--file',
        'svc/Dockerfile.prod',
        '--tag',
        'app:abc1234',
        '--tag',
        'app:1.2.3',
        '--label',
        'org.opencontainers.image.revision=abc',
        '--build-arg',
        'NODE_ENV=production',
        '--target',
        'runtime',
        '--platform',
        'linux/amd64',
        '--iidfile',
        '/tmp/w/iid',
        'svc',
      ],
    ],
    [
      'buildx, loads into the local store, no provenance',
      { builder: 'buildx', metadataFile: '/tmp/w/m.json' },
      [
        'docker',
        'buildx',
        'build',
        '--progress=plain',
        '--provenance=false',
        '--tag',
        'app:abc1234',
        '--iidfile',
        '/tmp/w/iid',
        '--metadata-file',
        '/tmp/w/m.json',
        '--load',
        '.',
      ],
    ],
    [
      'buildx, pushing multi-platform with registry cache',
      {
        builder: 'buildx',
        push: true,
        platforms: ['linux/amd64', 'linux/arm64'],
        cacheFrom: [CACHE],
        cacheTo: [`${CACHE},mode=max`],
        metadataFile: '/tmp/w/m.json',
      },
      [
        'docker',
        'buildx',
        'build',
        '--progress=plain',
        '--provenance=false',
        '--tag',
        'app:abc1234',
        '--platform',
        'linux/amd64,linux/arm64',
        '--cache-from',
        CACHE,
        '--cache-to',
        `${CACHE},mode=max`,
        '--iidfile',
        '/tmp/w/iid',
        '--metadata-file',
        '/tmp/w/m.json',
        '--push',
        '.',
      ],
    ],
  ])('%s', (_name, overrides, argv) => {
    expect(buildCommand(plan(overrides)).argv).toEqual(argv);
  });

  test('the classic builder runs with BuildKit off and reports cache options it cannot use', () => {
    const command = buildCommand(plan({ cacheFrom: [CACHE], cacheTo: [CACHE] }));
    expect(command.env).toEqual({ DOCKER_BUILDKIT: '0' });
    expect(command.ignored).toEqual(['cache-from', 'cache-to']);
    expect(command.argv).not.toContain('--cache-from');
  });

  test('buildx adds no environment', () => {
    expect(buildCommand(plan({ builder: 'buildx' })).env).toEqual({});
  });

  test.each<[string, Partial<BuildPlan>, RegExp]>([
    ['two platforms without buildx', { platforms: ['linux/amd64', 'linux/arm64'], push: true }, /need docker buildx/],
    [
      'two platforms without push',
      { builder: 'buildx', platforms: ['linux/amd64', 'linux/arm64'] },
      /set push to true/,
    ],
  ])('refuses %s', (_name, overrides, message) => {
    expect(() => buildCommand(plan(overrides))).toThrow(ConfigurationError);
    expect(() => buildCommand(plan(overrides))).toThrow(message);
  });

  test('a label value with spaces and newlines stays one argument', () => {
    const argv = buildCommand(plan({ labels: new Map([['description', 'two words\nand a line; $(x)']]) })).argv;
    expect(argv).toContain('description=two words\nand a line; $(x)');
  });
});

describe('metadataDigest', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  test.each<[unknown, string | undefined]>([
    [{ 'containerimage.digest': digest }, digest],
    [{ 'containerimage.digest': 'sha256:short' }, undefined],
    [{}, undefined],
    [null, undefined],
  ])('%j → %s', (metadata, expected) => {
    expect(metadataDigest(metadata)).toBe(expected);
  });
});
