import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../../core/errors.js';
import type { Inputs } from '../../core/inputs.js';
import { defineAction, type StepContext } from '../../core/action.js';
import { readEventPayload, runEnvironment } from '../../image/commit.js';
import { buildCommand, metadataDigest, type Builder, type BuildPlan } from '../../image/docker-build.js';
import { computeTags, ociLabels, sanitizeImageName, type CommitInfo } from '../../image/tags.js';
import { splitRegistry } from '../../core/names.js';
import { pushedDigest } from '../../registry/docker-login.js';
import type { CommandRunner } from '../../core/exec.js';

export interface BuildAndTagSeams {
  /** Force a builder instead of looking for buildx. */
  builder: Builder | undefined;
}

/** buildx is a CLI plugin: present when `docker buildx version` works. */
async function detectBuilder(runner: CommandRunner): Promise<Builder> {
  try {
    const result = await runner.run(['docker', 'buildx', 'version'], { allowFailure: true, timeoutMs: 30_000 });
    return result.code === 0 ? 'buildx' : 'classic';
  } catch {
    return 'classic';
  }
}

/** Outside a workflow (a local run) the commit is the context's git HEAD. */
async function gitHead(runner: CommandRunner, context: string): Promise<CommitInfo> {
  const result = await runner
    .run(['git', '-C', context, 'rev-parse', 'HEAD'], { allowFailure: true })
    .catch(() => undefined);
  const sha = result?.code === 0 ? result.stdout.trim() : '';
  if (sha === '') {
    throw new ConfigurationError('no commit to tag: GITHUB_SHA is not set and the build context is not a git checkout');
  }
  return { sha, ref: undefined, headRef: undefined };
}

function readBuildArgs(inputs: Inputs): Map<string, string> {
  return inputs.keyValues('build-args');
}

async function buildAndTag({ inputs, log, outputs, deps }: StepContext<BuildAndTagSeams>): Promise<void> {
  const { env, runner, clock, stream } = deps;

  const rawName = inputs.required('name');
  const name = sanitizeImageName(rawName);
  if (name !== rawName) log.info(`Image name "${rawName}" sanitized to "${name}"`);
  const context = inputs.string('context', '.');
  const shaLength = inputs.integer('sha-length', 7, { min: 7, max: 40 });
  const allowLatest = inputs.boolean('allow-latest', false);
  const push = inputs.boolean('push', false);
  if (push && splitRegistry(name).registry === undefined) {
    // Without a registry host docker would push to Docker Hub.
    throw new ConfigurationError(
      `push needs a registry in the image name (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/${name}); or leave push false and push with ecr-push`,
      'name',
    );
  }

  const run = runEnvironment(env, readEventPayload(env));
  const commit = run.commit ?? (await gitHead(runner, context));
  const tagPlan = computeTags({
    commit,
    shaLength,
    extraTags: inputs.lines('tags'),
    branchTag: inputs.boolean('branch-tag', false),
    allowLatest,
  });
  for (const note of tagPlan.notes) log.warning(note);
  const refs = tagPlan.tags.map((tag) => `${name}:${tag}`);
  const labels = ociLabels({
    sha: commit.sha,
    source: run.repositoryUrl,
    created: new Date(clock.now()),
    version: tagPlan.semver ?? tagPlan.version,
    title: splitRegistry(name).path,
  });

  const builder = deps.builder ?? (await detectBuilder(runner));
  const work = await mkdtemp(join(env.RUNNER_TEMP || tmpdir(), 'build-and-tag-'));
  try {
    const plan: BuildPlan = {
      builder,
      context,
      dockerfile: inputs.optional('dockerfile'),
      refs,
      labels,
      buildArgs: readBuildArgs(inputs),
      target: inputs.optional('target'),
      platforms: inputs.list('platforms'),
      cacheFrom: inputs.lines('cache-from'),
      cacheTo: inputs.lines('cache-to'),
      push,
      iidFile: join(work, 'iid'),
      metadataFile: builder === 'buildx' ? join(work, 'metadata.json') : undefined,
    };
    const command = buildCommand(plan);
    if (command.ignored.length > 0) {
      log.warning(`${command.ignored.join(' and ')} need docker buildx, which is not installed; ignored`);
    }
    log.info(`Building ${refs.join(', ')} with the ${builder === 'buildx' ? 'buildx' : 'classic'} builder`);
    await log.group(`docker build ${name}:${tagPlan.version}`, () =>
      stream(command.argv, { env: command.env, onLine: (line) => log.info(line) }),
    );
    const imageId = (await readFile(plan.iidFile, 'utf8')).trim();
    log.info(`Built image ${imageId}`);

    let digest: string | undefined;
    if (push && builder === 'buildx') {
      digest = metadataDigest(JSON.parse(await readFile(plan.metadataFile as string, 'utf8')) as unknown);
    } else if (push) {
      for (const ref of refs) {
        const result = await log.group(`docker push ${ref}`, () =>
          stream(['docker', 'push', ref], { onLine: (line) => log.info(line) }),
        );
        digest = pushedDigest(result.stdout) ?? digest;
      }
    }

    outputs.set('version', tagPlan.version);
    outputs.set('image', `${name}:${tagPlan.version}`);
    outputs.set('tags', refs.join('\n'));
    outputs.set('labels', [...labels].map(([k, v]) => `${k}=${v}`).join('\n'));
    outputs.set('digest', digest);
    await log.summary(
      [
        '### build-and-tag',
        '',
        '| | |',
        '|---|---|',
        `| Image | \`${name}:${tagPlan.version}\` |`,
        `| Commit | \`${commit.sha}\` |`,
        `| Tags | ${tagPlan.tags.map((t) => `\`${t}\``).join(' ')} |`,
        ...(digest === undefined ? [] : [`| Digest | \`${digest}\` |`]),
        '',
      ].join('\n'),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export const action = defineAction<BuildAndTagSeams>({
  seams: () => ({ builder: undefined }),
  main: buildAndTag,
});
