import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { action as buildAndTag, type BuildAndTagSeams } from '../../../src/actions/build-and-tag/main.js';
import { action as ecrPush } from '../../../src/actions/ecr-push/main.js';
import type { Deps } from '../../../src/core/action.js';
import type { streamCommand } from '../../../src/core/exec.js';
import { Inputs, type InputSource } from '../../../src/core/inputs.js';
import { MemoryLog } from '../../support/memory-log.js';
import { runActionInProcess, stepView, type StepLogView } from '../../support/action-harness.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';

const MERGE_SHA = '1111111111111111111111111111111111111111';
const HEAD_SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const IMAGE_ID = `sha256:${'5'.repeat(64)}`;
const DIGEST = `sha256:${'d'.repeat(64)}`;
const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

let dir: string;
let log: StepLogView;
let commands: { argv: string[]; env: Record<string, string> | undefined }[];

/** Stands in for docker build/push: records the argv and writes what docker would write. */
const fakeStream: typeof streamCommand = async (argv, options) => {
  commands.push({ argv: [...argv], env: options.env });
  const after = (flag: string) => argv[argv.indexOf(flag) + 1] as string;
  if (argv.includes('--iidfile')) writeFileSync(after('--iidfile'), IMAGE_ID);
  if (argv.includes('--metadata-file')) {
    writeFileSync(after('--metadata-file'), JSON.stringify({ 'containerimage.digest': DIGEST }));
  }
  options.onLine('Step 1/2 : FROM scratch');
  const stdout = argv[1] === 'push' ? `${argv[2]?.split(':').at(-1)}: digest: ${DIGEST} size: 527\n` : '';
  return { code: 0, tail: '', stdout };
};

function runner(buildx: boolean): ScriptedRunner {
  return new ScriptedRunner()
    .on(['docker', 'buildx', 'version'], () => (buildx ? { stdout: 'github.com/docker/buildx v0.17.1' } : { code: 1 }))
    .on(['git', 'rev-parse', 'HEAD'], () => ({ stdout: `${HEAD_SHA}\n` }));
}

/** The action's entry as the runner runs it (every action.yml default applied), with docker faked. */
async function build(values: Record<string, string>, deps: Partial<Deps & BuildAndTagSeams>) {
  const step = stepView(
    await runActionInProcess({
      action: 'actions/build-and-tag',
      with: values,
      run: () =>
        buildAndTag.main({
          deps: {
            runner: runner(false),
            stream: fakeStream,
            clock: { now: () => Date.UTC(2025, 5, 1), sleep: async () => {} },
            ...deps,
            env: { RUNNER_TEMP: dir, ...deps.env },
          },
        }),
    }),
  );
  log = step.log;
  return step;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'build-and-tag-test-'));
  commands = [];
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  nock.cleanAll();
});

describe('build-and-tag', () => {
  test('a pull request is tagged with its head commit, not the merge commit, built with the classic builder', async () => {
    const event = join(dir, 'event.json');
    writeFileSync(event, JSON.stringify({ pull_request: { number: 7, head: { sha: HEAD_SHA } } }));
    const { outputs, failure } = await build(
      { name: 'Client-A Node', context: 'app', 'build-args': 'NODE_ENV=production', tags: 'pr-7' },
      {
        env: {
          GITHUB_SHA: MERGE_SHA,
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_EVENT_PATH: event,
          GITHUB_REF: 'refs/pull/7/merge',
          GITHUB_REPOSITORY: 'acme/client-a',
        },
      },
    );
    expect(failure).toBeUndefined();
    expect(Object.fromEntries(outputs)).toEqual({
      version: 'abcdef0',
      image: 'client-a-node:abcdef0',
      tags: 'client-a-node:abcdef0\nclient-a-node:pr-7',
      labels: [
        'org.opencontainers.image.title=client-a-node',
        `org.opencontainers.image.revision=${HEAD_SHA}`,
        'org.opencontainers.image.source=https://github.com/acme/client-a',
        'org.opencontainers.image.version=abcdef0',
        'org.opencontainers.image.created=2025-06-01T00:00:00.000Z',
      ].join('\n'),
    });
    expect(commands).toHaveLength(1);
    const [command] = commands;
    expect(command?.argv.slice(0, 2)).toEqual(['docker', 'build']);
    expect(command?.argv).toContain(`org.opencontainers.image.revision=${HEAD_SHA}`);
    expect(command?.argv).toContain('NODE_ENV=production');
    expect(command?.argv.at(-1)).toBe('app');
    expect(command?.env).toEqual({ DOCKER_BUILDKIT: '0' });
    expect(log.lines).toContain('##[group]docker build client-a-node:abcdef0');
    expect(log.lines).toContain('Step 1/2 : FROM scratch');
    expect(log.lines).toContain(`Built image ${IMAGE_ID}`);
    expect(log.text()).not.toContain(MERGE_SHA);
  });

  test('buildx pushes itself and reports the digest from its metadata file', async () => {
    const { outputs, failure } = await build(
      { name: `${ECR}/client-a-node`, push: 'true', 'cache-from': `type=registry,ref=${ECR}/client-a-node:cache` },
      { runner: runner(true), env: { GITHUB_SHA: HEAD_SHA, GITHUB_REF: 'refs/tags/v1.4.0' } },
    );
    expect(failure).toBeUndefined();
    expect(outputs.get('digest')).toBe(DIGEST);
    expect(outputs.get('tags')).toBe(`${ECR}/client-a-node:abcdef0\n${ECR}/client-a-node:1.4.0`);
    expect(outputs.get('labels')).toContain('org.opencontainers.image.version=1.4.0');
    expect(outputs.get('labels')).toContain('org.opencontainers.image.title=client-a-node');
    expect(commands.map((c) => c.argv.slice(0, 3))).toEqual([['docker', 'buildx', 'build']]);
    expect(commands[0]?.argv).toEqual(expect.arrayContaining(['--push', '--cache-from', '--provenance=false']));
  });

  test('the classic builder pushes each tag after the build', async () => {
    const { outputs } = await build(
      { name: `${ECR}/app`, push: 'true', tags: 'stable' },
      { env: { GITHUB_SHA: HEAD_SHA } },
    );
    expect(commands.map((c) => c.argv.join(' '))).toEqual([
      expect.stringMatching(/^docker build /),
      `docker push ${ECR}/app:abcdef0`,
      `docker push ${ECR}/app:stable`,
    ]);
    expect(outputs.get('digest')).toBe(DIGEST);
  });

  test('cache options on the classic builder are reported as ignored', async () => {
    await build({ name: 'app', 'cache-to': 'type=inline' }, { env: { GITHUB_SHA: HEAD_SHA } });
    expect(log.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/cache-to need docker buildx.*ignored/)]);
  });

  test('outside a workflow the commit is the git HEAD of the context', async () => {
    const { outputs } = await build({ name: 'app', 'sha-length': '10' }, { env: {} });
    expect(outputs.get('version')).toBe(HEAD_SHA.slice(0, 10));
  });

  test.each<[Record<string, string>, RegExp]>([
    [{ name: 'app', tags: 'latest' }, /Input "tags": "latest" is refused/],
    [{ name: 'app', push: 'true' }, /Input "name": push needs a registry/],
    [{ name: 'app', 'sha-length': '5' }, /Input "sha-length": must be at least 7/],
    [{ name: '' }, /Input "name": is required/],
    [{ name: 'app', platforms: 'linux/amd64,linux/arm64', push: 'false' }, /Input "platforms"/],
  ])('%j is refused before any build', async (values, message) => {
    const { failure } = await build(values, { env: { GITHUB_SHA: HEAD_SHA } });
    expect(failure).toMatch(message);
    expect(commands).toEqual([]);
  });

  test('latest is tagged when allowed', async () => {
    const { outputs } = await build(
      { name: 'app', tags: 'latest', 'allow-latest': 'true' },
      { env: { GITHUB_SHA: HEAD_SHA } },
    );
    expect(outputs.get('tags')).toBe('app:abcdef0\napp:latest');
  });
});

/** Every input an action reads is declared in its action.yml, and every output it sets too. */
describe('action.yml matches what the code reads and writes', () => {
  function recording(values: Record<string, string>): { source: InputSource; names: Set<string> } {
    const names = new Set<string>();
    return { names, source: (name) => (names.add(name), values[name]) };
  }
  function declared(action: string): { inputs: string[]; outputs: string[]; main: string; using: string } {
    const yml = parse(readFileSync(join('actions', action, 'action.yml'), 'utf8')) as {
      inputs: Record<string, { description: string; default?: string }>;
      outputs: Record<string, { description: string }>;
      runs: { main: string; using: string };
    };
    for (const input of Object.values(yml.inputs)) expect(input.description.length).toBeGreaterThan(10);
    return {
      inputs: Object.keys(yml.inputs),
      outputs: Object.keys(yml.outputs),
      main: yml.runs.main,
      using: yml.runs.using,
    };
  }

  test('build-and-tag', async () => {
    const spec = declared('build-and-tag');
    expect(spec).toMatchObject({ using: 'node24', main: '../../dist/build-and-tag/index.js' });
    const { source, names } = recording({ name: 'app', push: 'false' });
    const outputs = new Map<string, string>();
    await buildAndTag.main({
      inputs: new Inputs(source),
      hooks: { setOutput: (n, v) => outputs.set(n, v), setFailed: () => undefined },
      deps: {
        log: new MemoryLog(),
        runner: runner(false),
        stream: fakeStream,
        env: { GITHUB_SHA: HEAD_SHA, RUNNER_TEMP: dir },
      },
    });
    expect(spec.inputs).toEqual(expect.arrayContaining([...names]));
    expect(spec.outputs).toEqual(expect.arrayContaining([...outputs.keys()]));
    expect(spec.inputs).toEqual(
      expect.arrayContaining([
        'name',
        'context',
        'dockerfile',
        'tags',
        'build-args',
        'target',
        'platforms',
        'sha-length',
        'allow-latest',
        'push',
      ]),
    );
    expect(spec.outputs).toEqual(['version', 'image', 'tags', 'labels', 'digest']);
  });

  test('ecr-push', async () => {
    const spec = declared('ecr-push');
    expect(spec).toMatchObject({ using: 'node24', main: '../../dist/ecr-push/index.js' });
    const { source, names } = recording({ source: 'app:1' });
    const scripted = new ScriptedRunner().on(['docker', 'image', 'inspect'], () => ({ code: 1 }));
    await ecrPush.main({
      inputs: new Inputs(source),
      hooks: { setOutput: () => undefined, setFailed: () => undefined },
      deps: { log: new MemoryLog(), runner: scripted },
    });
    expect([...names].sort()).toEqual([...spec.inputs].sort());
    expect(spec.inputs).toEqual([
      'source',
      'repository',
      'region',
      'create-repository',
      'tag-mutability',
      'scan-on-push',
      'lifecycle-policy',
      'registry-id',
    ]);
    expect(spec.outputs).toEqual(['registry', 'repository-uri', 'digest', 'image', 'tags']);
  });
});
