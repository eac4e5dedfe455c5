import { readFile } from 'node:fs/promises';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { ConfigurationError, errorMessage } from '../../core/errors.js';
import type { Inputs } from '../../core/inputs.js';
import type { Log } from '../../core/log.js';
import { retry } from '../../core/retry.js';
import { defineAction, type Deps, type StepContext } from '../../core/action.js';
import { sanitizeImageName } from '../../image/tags.js';
import { splitRegistry } from '../../core/names.js';
import { DockerRegistrySession, inspectLocalImage, isRetryablePushError } from '../../registry/docker-login.js';
import { createEcrClient, EcrRegistry, validateLifecyclePolicy, type TagMutability } from '../../registry/ecr.js';
import { parseSourceRef, planPush, type SourceRef } from '../../registry/push-plan.js';

/** Retries of ECR calls and pushes stop once this much of the step has passed. */
const RETRY_DEADLINE_MS = 10 * 60_000;

export interface EcrPushSeams {
  /** Builds the ECR client (tests inject credentials or an endpoint). */
  ecrClient: (region: string | undefined) => ECRClient;
}

interface EcrPushInputs {
  sources: SourceRef[];
  repository: string;
  region: string | undefined;
  createRepository: boolean;
  tagMutability: TagMutability;
  scanOnPush: boolean;
  lifecyclePolicyPath: string | undefined;
  registryId: string | undefined;
}

function readInputs(inputs: Inputs): EcrPushInputs {
  const sources = inputs
    .lines('source')
    .flatMap((line) => line.split(/\s+/))
    .filter((s) => s !== '')
    .map(parseSourceRef);
  if (sources.length === 0)
    throw new ConfigurationError('is required: the local image ref(s) to push, as name:tag', 'source');
  // By default the repository is named like the local image, without any registry host.
  const repository = inputs.optional('repository') ?? splitRegistry(sources[0]?.name ?? '').path;
  const registryId = inputs.optional('registry-id');
  if (registryId !== undefined && !/^\d{12}$/.test(registryId)) {
    throw new ConfigurationError(`expected a 12-digit AWS account id, got "${registryId}"`, 'registry-id');
  }
  const region = inputs.optional('region');
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new ConfigurationError(`"${region}" is not an AWS region such as eu-west-1`, 'region');
  }
  if (splitRegistry(repository).registry !== undefined) {
    throw new ConfigurationError(
      `give the repository name without a registry host (the registry comes from the token)`,
      'repository',
    );
  }
  const name = sanitizeImageName(repository, 'repository');
  if (name !== repository) {
    throw new ConfigurationError(
      `"${repository}" is not a valid ECR repository name (did you mean "${name}"?)`,
      'repository',
    );
  }
  return {
    sources,
    repository: name,
    region,
    createRepository: inputs.boolean('create-repository', true),
    tagMutability: inputs.choice('tag-mutability', ['IMMUTABLE', 'MUTABLE'] as const, 'IMMUTABLE'),
    scanOnPush: inputs.boolean('scan-on-push', true),
    lifecyclePolicyPath: inputs.optional('lifecycle-policy'),
    registryId,
  };
}

async function readLifecyclePolicy(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`cannot read "${path}" (${errorMessage(error)})`, 'lifecycle-policy');
  }
  return validateLifecyclePolicy(text);
}

/** Pushes the local image under every source tag into ECR and reports its digest. */
async function pushToEcr({ inputs, log, outputs, deps }: StepContext<EcrPushSeams>): Promise<void> {
  const options = readInputs(inputs);
  const lifecyclePolicy = await readLifecyclePolicy(options.lifecyclePolicyPath);
  const { runner, clock } = deps;
  const startedAt = clock.now();

  // All sources must be one image: the action has one digest to report.
  const local = await inspectLocalImage(runner, options.sources[0]?.ref ?? '');
  for (const source of options.sources.slice(1)) {
    const other = await inspectLocalImage(runner, source.ref);
    if (other.id !== local.id) {
      throw new ConfigurationError(
        `"${source.ref}" is another image than "${options.sources[0]?.ref}"; push one image per step`,
        'source',
      );
    }
  }
  const tags = [...new Set(options.sources.map((s) => s.tag))];

  const client = deps.ecrClient(options.region);
  const ecr = new EcrRegistry(client, { log, clock, deadlineMs: RETRY_DEADLINE_MS, random: deps.random });
  const login = await ecr.login(options.registryId);
  const repository = await ecr.ensureRepository({
    name: options.repository,
    registryId: options.registryId,
    create: options.createRepository,
    tagMutability: options.tagMutability,
    scanOnPush: options.scanOnPush,
    lifecyclePolicy,
  });
  outputs.set('registry', login.registry);
  outputs.set('repository-uri', repository.uri);

  const remote = repository.created ? new Map() : await ecr.findTags(repository, tags);
  const plan = planPush({
    tags,
    remote,
    local,
    repositoryUri: repository.uri,
    tagMutability: repository.tagMutability,
  });
  for (const tag of plan.present) log.info(`${repository.uri}:${tag} already holds this image; not pushed again`);
  for (const tag of plan.moved) log.warning(`${repository.uri}:${tag} held another image and now moves to this one`);

  let digest = plan.knownDigest;
  if (plan.push.length > 0) {
    digest = await pushTags(plan.push, {
      options,
      login,
      repositoryUri: repository.uri,
      log,
      startedAt,
      deps,
    });
  }
  if (digest === undefined) throw new Error('no digest known after the push');

  const refs = tags.map((tag) => `${repository.uri}:${tag}`);
  outputs.set('digest', digest);
  outputs.set('image', `${repository.uri}@${digest}`);
  outputs.set('tags', refs.join('\n'));
  await log.summary(
    [
      '### ecr-push',
      '',
      '| | |',
      '|---|---|',
      `| Image | \`${repository.uri}@${digest}\` |`,
      `| Tags | ${tags.map((t) => `\`${t}\``).join(' ')} |`,
      `| Pushed | ${plan.push.length > 0 ? plan.push.join(', ') : 'nothing (already in the registry)'} |`,
      '',
    ].join('\n'),
  );
}

async function pushTags(
  tags: readonly string[],
  context: {
    options: EcrPushInputs;
    login: { registry: string; username: string; password: string };
    repositoryUri: string;
    log: Log;
    startedAt: number;
    deps: Deps;
  },
): Promise<string> {
  const { log } = context;
  const { clock, random } = context.deps;
  const retryOptions = () => ({
    deadlineMs: Math.max(0, context.startedAt + RETRY_DEADLINE_MS - clock.now()),
    clock,
    random,
    retryable: isRetryablePushError,
    onRetry: (error: unknown, attempt: number, delay: number) =>
      log.info(`${errorMessage(error)}; attempt ${attempt + 1} in ${delay} ms`),
  });
  const session = await DockerRegistrySession.open(context.deps.runner);
  try {
    await retry(
      () => session.login(context.login.registry, context.login.username, context.login.password),
      retryOptions(),
    );
    log.info(`Logged in to ${context.login.registry} (Docker config in a job-scoped directory)`);
    const source = context.options.sources[0]?.ref ?? '';
    const digests = new Set<string>();
    for (const tag of tags) {
      const target = `${context.repositoryUri}:${tag}`;
      await session.tag(source, target);
      const digest = await log.group(`docker push ${target}`, () =>
        retry(() => session.push(target, log), retryOptions()),
      );
      digests.add(digest);
    }
    if (digests.size !== 1) throw new Error(`the tags were pushed with different digests: ${[...digests].join(', ')}`);
    return [...digests][0] as string;
  } finally {
    await session.dispose();
  }
}

export const action = defineAction<EcrPushSeams>({
  seams: () => ({ ecrClient: (region) => createEcrClient({ region }) }),
  main: pushToEcr,
});
