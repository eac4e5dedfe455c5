import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { FakeClock } from '../../support/clock.js';
import { ConfigurationError } from '../../../src/core/errors.js';
import { MemoryLog } from '../../support/memory-log.js';
import {
  EcrRegistry,
  isRetryableAwsError,
  registryHost,
  validateLifecyclePolicy,
  MAX_LIFECYCLE_POLICY_LENGTH,
  type RepositorySpec,
} from '../../../src/registry/ecr.js';
import {
  awsError,
  FakeEcrApi,
  manifest,
  PASSWORD,
  REGISTRY,
  repositoryReply,
  testClient,
  TOKEN,
  tokenReply,
} from './ecr-api.js';

let api: FakeEcrApi;
let log: MemoryLog;
let clock: FakeClock;

function registry(deadlineMs = 60_000): EcrRegistry {
  return new EcrRegistry(testClient(), { log, clock, deadlineMs, random: () => 0.5, baseDelayMs: 100 });
}

const POLICY = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 5 },
      action: { type: 'expire' },
    },
  ],
});

function spec(overrides: Partial<RepositorySpec> = {}): RepositorySpec {
  return {
    name: 'client-a-node',
    registryId: undefined,
    create: true,
    tagMutability: 'IMMUTABLE',
    scanOnPush: true,
    lifecyclePolicy: undefined,
    ...overrides,
  };
}

beforeEach(() => {
  api = new FakeEcrApi();
  log = new MemoryLog();
  clock = new FakeClock();
});

afterEach(() => {
  nock.cleanAll();
});

describe('login', () => {
  test('decodes the token, masks token and password, takes the host from proxyEndpoint', async () => {
    api.on('GetAuthorizationToken', tokenReply);
    const login = await registry().login(undefined);
    expect(login).toEqual({
      registry: REGISTRY,
      username: 'AWS',
      password: PASSWORD,
      expiresAt: new Date(1_900_000_000_000),
    });
    expect(log.masked).toEqual([TOKEN, PASSWORD]);
    expect(api.calls[0]?.body).toEqual({});
  });

  test('asks for another account’s registry when given a registry id', async () => {
    api.on('GetAuthorizationToken', tokenReply);
    await registry().login('210987654321');
    expect(api.calls[0]?.body).toEqual({ registryIds: ['210987654321'] });
  });

  test('throttled twice, then succeeds after backing off', async () => {
    api.on(
      'GetAuthorizationToken',
      awsError('ThrottlingException', 'Rate exceeded'),
      awsError('ThrottlingException', 'Rate exceeded'),
      tokenReply,
    );
    const login = await registry().login(undefined);
    expect(login.password).toBe(PASSWORD);
    expect(api.count('GetAuthorizationToken')).toBe(3);
    // Full jitter with random 0.5 over 100 ms, then 200 ms.
    expect(clock.sleeps).toEqual([50, 100]);
    expect(log.text()).toMatch(/GetAuthorizationToken: Rate exceeded; attempt 2/);
  });

  test.each([[429], [500], [503]])('HTTP %d is retried', async (status) => {
    api.on('GetAuthorizationToken', awsError('ServiceUnavailable', 'try later', status), tokenReply);
    await expect(registry().login(undefined)).resolves.toMatchObject({ registry: REGISTRY });
    expect(api.count('GetAuthorizationToken')).toBe(2);
  });

  test('gives up at the overall deadline', async () => {
    api.on('GetAuthorizationToken', awsError('ThrottlingException', 'Rate exceeded'));
    await expect(registry(1_000).login(undefined)).rejects.toThrow(/Rate exceeded/);
    const waited = clock.sleeps.reduce((a, b) => a + b, 0);
    expect(waited).toBeLessThanOrEqual(1_000);
    expect(api.count('GetAuthorizationToken')).toBeGreaterThan(2);
  });

  test('access denied is not retried', async () => {
    api.on('GetAuthorizationToken', awsError('AccessDeniedException', 'not authorized to ecr:GetAuthorizationToken'));
    await expect(registry().login(undefined)).rejects.toThrow(/not authorized/);
    expect(api.count('GetAuthorizationToken')).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });
});

describe('ensureRepository', () => {
  test('creates a missing repository immutable with scan on push and applies the lifecycle policy', async () => {
    api
      .on('DescribeRepositories', awsError('RepositoryNotFoundException', 'not found'))
      .on('CreateRepository', [200, { repository: repositoryReply('client-a-node') }])
      .on('PutLifecyclePolicy', [200, { repositoryName: 'client-a-node', lifecyclePolicyText: POLICY }]);
    const info = await registry().ensureRepository(spec({ lifecyclePolicy: POLICY }));
    expect(info).toEqual({
      name: 'client-a-node',
      uri: `${REGISTRY}/client-a-node`,
      registryId: '123456789012',
      tagMutability: 'IMMUTABLE',
      created: true,
    });
    expect(api.operations()).toEqual(['DescribeRepositories', 'CreateRepository', 'PutLifecyclePolicy']);
    expect(api.calls[1]?.body).toEqual({
      repositoryName: 'client-a-node',
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
    });
    expect(api.calls[2]?.body).toEqual({ repositoryName: 'client-a-node', lifecyclePolicyText: POLICY });
    expect(log.warnings).toEqual([]);
  });

  test('create throttled then succeeds', async () => {
    api
      .on('DescribeRepositories', awsError('RepositoryNotFoundException'))
      .on('CreateRepository', awsError('ThrottlingException'), [200, { repository: repositoryReply('client-a-node') }]);
    const info = await registry().ensureRepository(spec());
    expect(info.created).toBe(true);
    expect(api.count('CreateRepository')).toBe(2);
  });

  test('an existing mutable repository without scanning is reported, not changed', async () => {
    api.on('DescribeRepositories', [200, { repositories: [repositoryReply('client-a-node', 'MUTABLE', false)] }]);
    const info = await registry().ensureRepository(spec());
    expect(info).toMatchObject({ created: false, tagMutability: 'MUTABLE' });
    expect(api.operations()).toEqual(['DescribeRepositories']);
    expect(log.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/tag mutability MUTABLE, not IMMUTABLE.*left as it is/),
      expect.stringMatching(/scan on push off, not on/),
    ]);
  });

  test('a missing repository with create-repository false is a configuration error', async () => {
    api.on('DescribeRepositories', awsError('RepositoryNotFoundException'));
    const result = registry().ensureRepository(spec({ create: false }));
    await expect(result).rejects.toThrow(ConfigurationError);
    await expect(result).rejects.toThrow(/create-repository/);
    await expect(result).rejects.toMatchObject({ field: 'repository' });
    expect(api.count('CreateRepository')).toBe(0);
  });

  test('a repository created by another job in between is used', async () => {
    api
      .on('DescribeRepositories', awsError('RepositoryNotFoundException'), [
        200,
        { repositories: [repositoryReply('client-a-node')] },
      ])
      .on('CreateRepository', awsError('RepositoryAlreadyExistsException'));
    const info = await registry().ensureRepository(spec());
    expect(info).toMatchObject({ created: false, uri: `${REGISTRY}/client-a-node` });
    expect(api.operations()).toEqual(['DescribeRepositories', 'CreateRepository', 'DescribeRepositories']);
  });

  test('the same lifecycle policy (other formatting) is not put again', async () => {
    api
      .on('DescribeRepositories', [200, { repositories: [repositoryReply('client-a-node')] }])
      .on('GetLifecyclePolicy', [200, { lifecyclePolicyText: JSON.stringify(JSON.parse(POLICY), null, 2) }]);
    await registry().ensureRepository(spec({ lifecyclePolicy: POLICY }));
    expect(api.operations()).toEqual(['DescribeRepositories', 'GetLifecyclePolicy']);
  });

  test.each([
    ['no policy yet', awsError('LifecyclePolicyNotFoundException')],
    ['another policy', [200, { lifecyclePolicyText: '{"rules":[]}' }] as [number, unknown]],
  ])('a lifecycle policy is put on an existing repository with %s', async (_name, current) => {
    api
      .on('DescribeRepositories', [200, { repositories: [repositoryReply('client-a-node')] }])
      .on('GetLifecyclePolicy', current)
      .on('PutLifecyclePolicy', [200, {}]);
    await registry().ensureRepository(spec({ lifecyclePolicy: POLICY }));
    expect(api.operations()).toEqual(['DescribeRepositories', 'GetLifecyclePolicy', 'PutLifecyclePolicy']);
  });
});

describe('findTags', () => {
  const repo = {
    name: 'client-a-node',
    uri: `${REGISTRY}/client-a-node`,
    registryId: '123456789012',
    tagMutability: 'IMMUTABLE',
    created: false,
  };
  const digest = `sha256:${'d'.repeat(64)}`;
  const config = `sha256:${'c'.repeat(64)}`;

  test('returns found tags with manifest and config digests; ImageNotFound means absent', async () => {
    api.on('BatchGetImage', [
      200,
      {
        images: [{ imageId: { imageTag: 'abc1234', imageDigest: digest }, imageManifest: manifest(config) }],
        failures: [
          { imageId: { imageTag: '1.2.3' }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' },
        ],
      },
    ]);
    const found = await registry().findTags(repo, ['abc1234', '1.2.3']);
    expect([...found.values()]).toEqual([{ tag: 'abc1234', digest, configDigest: config }]);
    expect(api.calls[0]?.body).toMatchObject({
      repositoryName: 'client-a-node',
      registryId: '123456789012',
      imageIds: [{ imageTag: 'abc1234' }, { imageTag: '1.2.3' }],
    });
  });

  test('another failure is an error, not a missing tag', async () => {
    api.on('BatchGetImage', [
      200,
      { failures: [{ imageId: { imageTag: 'x' }, failureCode: 'KmsError', failureReason: 'key disabled' }] },
    ]);
    await expect(registry().findTags(repo, ['x'])).rejects.toThrow(/KmsError key disabled/);
  });
});

describe('validateLifecyclePolicy', () => {
  test.each<[string, string, RegExp | undefined]>([
    ['a valid policy', POLICY, undefined],
    ['not JSON', '{rules:', /not valid JSON/],
    ['no rules', '{"rules":[]}', /non-empty "rules"/],
    [
      'too long',
      JSON.stringify({ rules: [{ description: 'x'.repeat(MAX_LIFECYCLE_POLICY_LENGTH) }] }),
      /at most 30720/,
    ],
  ])('%s', (_name, text, error) => {
    if (error === undefined) expect(validateLifecyclePolicy(text)).toBe(text);
    else expect(() => validateLifecyclePolicy(text)).toThrow(error);
  });
});

describe('helpers', () => {
  test.each([
    ['https://123.dkr.ecr.eu-west-1.amazonaws.com', '123.dkr.ecr.eu-west-1.amazonaws.com'],
    ['http://127.0.0.1:5001', '127.0.0.1:5001'],
  ])('registryHost(%s) → %s', (endpoint, host) => {
    expect(registryHost(endpoint)).toBe(host);
  });

  test.each<[unknown, boolean]>([
    [{ name: 'ThrottlingException' }, true],
    [{ name: 'X', $metadata: { httpStatusCode: 429 } }, true],
    [{ name: 'X', $metadata: { httpStatusCode: 502 } }, true],
    [{ name: 'X', $retryable: { throttling: true } }, true],
    [{ name: 'RepositoryNotFoundException', $metadata: { httpStatusCode: 400 } }, false],
    [new Error('boom'), false],
    ['text', false],
  ])('isRetryableAwsError(%j) → %s', (error, expected) => {
    expect(isRetryableAwsError(error)).toBe(expected);
  });
});
