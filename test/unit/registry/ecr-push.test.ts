import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { FakeClock } from '../../support/clock.js';
import { action } from '../../../src/actions/ecr-push/main.js';
import { runActionInProcess, stepView, type StepLogView } from '../../support/action-harness.js';
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
import { ScriptedRunner } from '../../support/scripted-runner.js';

const ID = `sha256:${'1'.repeat(64)}`;
const DIGEST = `sha256:${'d'.repeat(64)}`;
const OTHER_DIGEST = `sha256:${'e'.repeat(64)}`;
const URI = `${REGISTRY}/client-a-node`;

let api: FakeEcrApi;
let log: StepLogView;
let runner: ScriptedRunner;
let clock: FakeClock;
let configDirs: string[];

function dockerRunner(options: { ids?: Record<string, string>; pushFailures?: string[] } = {}): ScriptedRunner {
  const failures = [...(options.pushFailures ?? [])];
  return new ScriptedRunner()
    .on(['docker', 'image', 'inspect'], (argv) => {
      const ref = argv.at(-1) ?? '';
      return { stdout: JSON.stringify({ Id: options.ids?.[ref] ?? ID, RepoDigests: [] }) };
    })
    .on(['docker', '--config', 'login', '--username', 'AWS', '--password-stdin', REGISTRY], (argv) => {
      configDirs.push(argv[2] ?? '');
      expect(existsSync(argv[2] ?? '')).toBe(true);
      return { stdout: 'Login Succeeded\n' };
    })
    .on(['docker', '--config', 'tag'], () => ({}))
    .on(['docker', '--config', 'push'], (argv) => {
      const failure = failures.shift();
      if (failure !== undefined) return { code: 1, stderr: failure };
      const tag = (argv.at(-1) ?? '').split(':').at(-1);
      return {
        stdout: `The push refers to repository [${URI}]\n5f70bf18a086: Pushed\n${tag}: digest: ${DIGEST} size: 527\n`,
      };
    });
}

/** The action's entry as the runner runs it (every action.yml default applied), with fake AWS and docker. */
async function runPush(values: Record<string, string>) {
  const step = stepView(
    await runActionInProcess({
      action: 'actions/ecr-push',
      with: values,
      run: () => action.main({ deps: { runner, ecrClient: () => testClient(), clock, random: () => 0.5 } }),
    }),
  );
  log = step.log;
  return step;
}

beforeEach(() => {
  api = new FakeEcrApi();
  clock = new FakeClock(0);
  configDirs = [];
  runner = dockerRunner();
});

afterEach(() => {
  nock.cleanAll();
});

describe('ecr-push', () => {
  test('creates the repository, logs in with the password on stdin only, pushes every tag, outputs the digest', async () => {
    api
      .on('GetAuthorizationToken', tokenReply)
      .on('DescribeRepositories', awsError('RepositoryNotFoundException'))
      .on('CreateRepository', [200, { repository: repositoryReply('client-a-node') }]);
    const result = await runPush({ source: 'client-a-node:abc1234\nclient-a-node:1.2.3' });

    expect(result.failure).toBeUndefined();
    expect(Object.fromEntries(result.outputs)).toEqual({
      registry: REGISTRY,
      'repository-uri': URI,
      digest: DIGEST,
      image: `${URI}@${DIGEST}`,
      tags: `${URI}:abc1234\n${URI}:1.2.3`,
    });
    expect(runner.commands()).toEqual([
      'docker image inspect --format {{json .}} client-a-node:abc1234',
      'docker image inspect --format {{json .}} client-a-node:1.2.3',
      `docker login --username AWS --password-stdin ${REGISTRY}`,
      `docker tag client-a-node:abc1234 ${URI}:abc1234`,
      `docker push ${URI}:abc1234`,
      `docker tag client-a-node:abc1234 ${URI}:1.2.3`,
      `docker push ${URI}:1.2.3`,
    ]);
    // A just-created repository has no tags to check.
    expect(api.operations()).toEqual(['GetAuthorizationToken', 'DescribeRepositories', 'CreateRepository']);
    const login = runner.calls.find((c) => c.argv.includes('login'));
    expect(login?.stdin).toBe(PASSWORD);
    for (const call of runner.calls) expect(call.argv.join(' ')).not.toContain(PASSWORD);
    expect(log.masked).toEqual(expect.arrayContaining([TOKEN, PASSWORD]));
    expect(log.text()).not.toContain(PASSWORD);
    // The Docker config was a fresh directory, not the user's, and is gone afterwards.
    expect(configDirs).toHaveLength(1);
    expect(configDirs[0]).not.toContain(join(homedir(), '.docker'));
    expect(existsSync(configDirs[0] ?? '')).toBe(false);
    expect(log.summaries.join()).toContain(`${URI}@${DIGEST}`);
  });

  test('tags already holding this image: success without login or push', async () => {
    api
      .on('GetAuthorizationToken', tokenReply)
      .on('DescribeRepositories', [200, { repositories: [repositoryReply('client-a-node')] }])
      .on('BatchGetImage', [
        200,
        { images: [{ imageId: { imageTag: 'abc1234', imageDigest: DIGEST }, imageManifest: manifest(ID) }] },
      ]);
    const result = await runPush({ source: 'client-a-node:abc1234' });
    expect(result.failure).toBeUndefined();
    expect(result.outputs.get('digest')).toBe(DIGEST);
    expect(result.outputs.get('image')).toBe(`${URI}@${DIGEST}`);
    expect(runner.commands().filter((c) => /login|push|tag /.test(c))).toEqual([]);
    expect(log.text()).toMatch(/already holds this image; not pushed again/);
  });

  test('a tag holding another image in an immutable repository fails before any upload', async () => {
    api
      .on('GetAuthorizationToken', tokenReply)
      .on('DescribeRepositories', [200, { repositories: [repositoryReply('client-a-node')] }])
      .on('BatchGetImage', [
        200,
        {
          images: [
            {
              imageId: { imageTag: 'abc1234', imageDigest: OTHER_DIGEST },
              imageManifest: manifest(`sha256:${'9'.repeat(64)}`),
            },
          ],
        },
      ]);
    const result = await runPush({ source: 'client-a-node:abc1234' });
    expect(result.failure).toMatch(/immutable and already has abc1234 \(holds sha256:e{64}\).*nothing was pushed/);
    expect(runner.commands().filter((c) => /login|push|tag /.test(c))).toEqual([]);
    expect(result.outputs.get('digest')).toBeUndefined();
    expect(result.outputs.get('repository-uri')).toBe(URI);
  });

  test('a mutable repository is pushed to with a warning, and the tag move is reported', async () => {
    api
      .on('GetAuthorizationToken', tokenReply)
      .on('DescribeRepositories', [200, { repositories: [repositoryReply('client-a-node', 'MUTABLE')] }])
      .on('BatchGetImage', [
        200,
        {
          images: [
            { imageId: { imageTag: 'abc1234', imageDigest: OTHER_DIGEST }, imageManifest: manifest('sha256:x') },
          ],
        },
      ]);
    const result = await runPush({ source: 'client-a-node:abc1234' });
    expect(result.failure).toBeUndefined();
    expect(result.outputs.get('digest')).toBe(DIGEST);
    expect(log.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/tag mutability MUTABLE, not IMMUTABLE/),
      expect.stringMatching(/abc1234 held another image and now moves/),
    ]);
  });

  test('a push that hits a registry 503 is retried after a backoff', async () => {
    runner = dockerRunner({ pushFailures: ['received unexpected HTTP status: 503 Service Unavailable'] });
    api
      .on('GetAuthorizationToken', awsError('ThrottlingException', 'Rate exceeded'), tokenReply)
      .on('DescribeRepositories', awsError('RepositoryNotFoundException'))
      .on('CreateRepository', [200, { repository: repositoryReply('client-a-node') }]);
    const result = await runPush({ source: 'client-a-node:abc1234' });
    expect(result.failure).toBeUndefined();
    expect(runner.commands().filter((c) => c.startsWith('docker push'))).toHaveLength(2);
    expect(api.count('GetAuthorizationToken')).toBe(2);
    expect(clock.sleeps).toHaveLength(2);
  });

  test('a push refused for another reason is not retried', async () => {
    runner = dockerRunner({ pushFailures: ['denied: User is not authorized to perform ecr:InitiateLayerUpload'] });
    api
      .on('GetAuthorizationToken', tokenReply)
      .on('DescribeRepositories', awsError('RepositoryNotFoundException'))
      .on('CreateRepository', [200, { repository: repositoryReply('client-a-node') }]);
    const result = await runPush({ source: 'client-a-node:abc1234' });
    expect(result.failure).toMatch(/docker exited with code 1: denied/);
    expect(runner.commands().filter((c) => c.startsWith('docker push'))).toHaveLength(1);
    expect(configDirs.every((dir) => !existsSync(dir))).toBe(true);
  });

  test('sources that are different images are refused before any AWS call', async () => {
    runner = dockerRunner({ ids: { 'client-a-node:b': `sha256:${'2'.repeat(64)}` } });
    const result = await runPush({ source: 'client-a-node:a\nclient-a-node:b' });
    expect(result.failure).toMatch(/Input "source": "client-a-node:b" is another image/);
    expect(api.calls).toEqual([]);
  });

  test('a missing local image names the source input', async () => {
    runner = new ScriptedRunner().on(['docker', 'image', 'inspect'], () => ({ code: 1, stderr: 'No such image' }));
    const result = await runPush({ source: 'client-a-node:abc1234' });
    expect(result.failure).toMatch(/Input "source": no local image "client-a-node:abc1234"/);
  });

  describe('lifecycle policy file', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'ecr-push-test-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    test('over 30720 characters is refused before any AWS call', async () => {
      const path = join(dir, 'policy.json');
      writeFileSync(path, JSON.stringify({ rules: [{ description: 'x'.repeat(31_000) }] }));
      const result = await runPush({ source: 'client-a-node:abc1234', 'lifecycle-policy': path });
      expect(result.failure).toMatch(/Input "lifecycle-policy".*at most 30720/);
      expect(api.calls).toEqual([]);
    });

    test('a missing file names the input', async () => {
      const result = await runPush({ source: 'client-a-node:abc1234', 'lifecycle-policy': join(dir, 'nope.json') });
      expect(result.failure).toMatch(/Input "lifecycle-policy": cannot read/);
    });
  });

  test.each([
    [{ source: '' }, /Input "source"/],
    [{ source: 'client-a-node' }, /Input "source".*has no tag/],
    [{ source: 'app:1', repository: 'Bad Name' }, /Input "repository".*did you mean "bad-name"/],
    [{ source: 'app:1', repository: '127.0.0.1:5000/app' }, /Input "repository".*without a registry host/],
    [{ source: 'app:1', 'registry-id': '12' }, /Input "registry-id"/],
    [{ source: 'app:1', region: 'Europe' }, /Input "region"/],
    [{ source: 'app:1', 'tag-mutability': 'immutable' }, /Input "tag-mutability"/],
    [{ source: 'app:1', 'create-repository': 'yes' }, /Input "create-repository"/],
  ])('input %j is refused', async (values, message) => {
    const result = await runPush(values);
    expect(result.failure).toMatch(message);
    expect(api.calls).toEqual([]);
  });
});
