import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  GetLifecyclePolicyCommand,
  PutLifecyclePolicyCommand,
  type ECRClientConfig,
  type Repository,
} from '@aws-sdk/client-ecr';
import { ConfigurationError, ConnectionError, errorMessage } from '../core/errors.js';
import type { Log } from '../core/log.js';
import { retry, systemClock, type Clock } from '../core/retry.js';

/** ECR's limit on a lifecycle policy document. */
export const MAX_LIFECYCLE_POLICY_LENGTH = 30_720;

export type TagMutability = 'IMMUTABLE' | 'MUTABLE';

/**
 * An ECR client on the SDK's default credential chain (what aws-actions/configure-aws-credentials
 * exports, OIDC web identity, profiles, instance roles) and its standard settings, including
 * `AWS_ENDPOINT_URL_ECR` / `AWS_ENDPOINT_URL`. The SDK's own retries are off: every call goes
 * through one backoff under one deadline instead (see EcrRegistry).
 */
export function createEcrClient(options: { region?: string | undefined; config?: ECRClientConfig } = {}): ECRClient {
  return new ECRClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    maxAttempts: 1,
    ...options.config,
  });
}

export interface RegistryLogin {
  /** `<account>.dkr.ecr.<region>.amazonaws.com`: the host of the token's proxyEndpoint. */
  registry: string;
  username: string;
  password: string;
  expiresAt: Date | undefined;
}

export interface RepositorySpec {
  name: string;
  registryId: string | undefined;
  create: boolean;
  tagMutability: TagMutability;
  scanOnPush: boolean;
  /** The lifecycle policy document, already validated. */
  lifecyclePolicy: string | undefined;
}

export interface RepositoryInfo {
  name: string;
  uri: string;
  registryId: string | undefined;
  /** As ECR reports it: IMMUTABLE, MUTABLE, or one of the *_WITH_EXCLUSION variants. */
  tagMutability: string;
  created: boolean;
}

/** A tag as the registry holds it. */
export interface RemoteImage {
  tag: string;
  /** The manifest digest. */
  digest: string;
  /** The image config digest (= the local image id) for single-platform manifests. */
  configDigest: string | undefined;
}

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
];

interface AwsErrorShape {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

/** Throttling (ThrottlingException, HTTP 429) and server errors (5xx) are worth another try. */
export function isRetryableAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as AwsErrorShape;
  if (e.name === 'ThrottlingException' || e.name === 'TooManyRequestsException' || e.$retryable?.throttling)
    return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && (status === 429 || status >= 500);
}

function hasName(error: unknown, name: string): boolean {
  return typeof error === 'object' && error !== null && (error as AwsErrorShape).name === name;
}

/** Checks a lifecycle policy document before anything is sent: size and JSON shape. */
export function validateLifecyclePolicy(text: string, input = 'lifecycle-policy'): string {
  if (text.length > MAX_LIFECYCLE_POLICY_LENGTH) {
    throw new ConfigurationError(
      `the policy has ${text.length} characters; ECR accepts at most ${MAX_LIFECYCLE_POLICY_LENGTH}`,
      input,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`the policy is not valid JSON (${errorMessage(error)})`, input);
  }
  const rules = (parsed as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules) || rules.length === 0) {
    throw new ConfigurationError('the policy needs a non-empty "rules" array', input);
  }
  return text;
}

/** Same policy regardless of whitespace and key order? */
function samePolicy(a: string, b: string): boolean {
  const canonical = (text: string): string => {
    const sort = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(sort);
      if (value !== null && typeof value === 'object') {
        return Object.fromEntries(
          Object.entries(value as Record<string, unknown>)
            .sort(([x], [y]) => x.localeCompare(y))
            .map(([k, v]) => [k, sort(v)]),
        );
      }
      return value;
    };
    try {
      return JSON.stringify(sort(JSON.parse(text)));
    } catch {
      return text;
    }
  };
  return canonical(a) === canonical(b);
}

export interface EcrRegistryOptions {
  log: Log;
  clock?: Clock;
  random?: () => number;
  /** Retries stop once this much time has passed since the registry object was made. */
  deadlineMs: number;
  baseDelayMs?: number;
}

/** The ECR API calls a push needs, each retried on throttling and 5xx under one overall deadline. */
export class EcrRegistry {
  private readonly clock: Clock;
  private readonly deadlineAt: number;

  constructor(
    private readonly client: ECRClient,
    private readonly options: EcrRegistryOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.deadlineAt = this.clock.now() + options.deadlineMs;
  }

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retry(fn, {
      deadlineMs: Math.max(0, this.deadlineAt - this.clock.now()),
      clock: this.clock,
      ...(this.options.random === undefined ? {} : { random: this.options.random }),
      ...(this.options.baseDelayMs === undefined ? {} : { baseDelayMs: this.options.baseDelayMs }),
      retryable: isRetryableAwsError,
      onRetry: (error, attempt, delay) =>
        this.options.log.info(`ECR ${what}: ${errorMessage(error)}; attempt ${attempt + 1} in ${delay} ms`),
    });
  }

  /**
   * A registry login from GetAuthorizationToken. The token is base64 of `AWS:<password>`; both
   * forms are masked before anything else happens with them.
   */
  async login(registryId: string | undefined): Promise<RegistryLogin> {
    const response = await this.call('GetAuthorizationToken', () =>
      this.client.send(new GetAuthorizationTokenCommand(registryId === undefined ? {} : { registryIds: [registryId] })),
    );
    const data = response.authorizationData?.[0];
    const token = data?.authorizationToken;
    if (!token || !data.proxyEndpoint) {
      throw new ConnectionError('ECR GetAuthorizationToken returned no token or no proxyEndpoint');
    }
    this.options.log.mask(token);
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new ConnectionError('ECR GetAuthorizationToken returned a token that is not user:password');
    const password = decoded.slice(colon + 1);
    this.options.log.mask(password);
    return {
      registry: registryHost(data.proxyEndpoint),
      username: decoded.slice(0, colon),
      password,
      expiresAt: data.expiresAt,
    };
  }

  /**
   * Finds the repository, creating it with the wanted settings when allowed. An existing
   * repository's tag mutability and scan setting are reported, not changed: the defaults must not
   * silently rewrite a repository someone configured on purpose. A given lifecycle policy is
   * applied when it differs, since the file in the client's repository is its source of truth.
   */
  async ensureRepository(spec: RepositorySpec): Promise<RepositoryInfo> {
    const registry = spec.registryId === undefined ? {} : { registryId: spec.registryId };
    let repository = await this.describe(spec.name, spec.registryId);
    let created = false;
    if (repository === undefined) {
      if (!spec.create) {
        throw new ConfigurationError(
          `ECR repository "${spec.name}" does not exist; create it or set create-repository to true`,
          'repository',
        );
      }
      try {
        const response = await this.call('CreateRepository', () =>
          this.client.send(
            new CreateRepositoryCommand({
              repositoryName: spec.name,
              ...registry,
              imageTagMutability: spec.tagMutability,
              imageScanningConfiguration: { scanOnPush: spec.scanOnPush },
            }),
          ),
        );
        repository = response.repository;
        created = true;
        this.options.log.info(
          `Created ECR repository ${spec.name} (tags ${spec.tagMutability}, scan on push ${spec.scanOnPush})`,
        );
      } catch (error) {
        // Another job created it between our describe and create: use theirs.
        if (!hasName(error, 'RepositoryAlreadyExistsException')) throw error;
        repository = await this.describe(spec.name, spec.registryId);
      }
    }
    if (repository?.repositoryUri === undefined) {
      throw new ConnectionError(`ECR returned no URI for repository "${spec.name}"`);
    }
    const tagMutability = repository.imageTagMutability ?? 'MUTABLE';
    if (!created) this.reportMismatch(spec, repository, tagMutability);
    if (spec.lifecyclePolicy !== undefined) await this.applyLifecyclePolicy(spec, created);
    return {
      name: spec.name,
      uri: repository.repositoryUri,
      registryId: repository.registryId ?? spec.registryId,
      tagMutability,
      created,
    };
  }

  private reportMismatch(spec: RepositorySpec, repository: Repository, tagMutability: string): void {
    if (tagMutability !== spec.tagMutability) {
      this.options.log.warning(
        `ECR repository ${spec.name} has tag mutability ${tagMutability}, not ${spec.tagMutability}; it was left as it is` +
          (tagMutability.startsWith('MUTABLE') ? ' (a pushed tag can later point to another image)' : ''),
      );
    }
    const scanOnPush = repository.imageScanningConfiguration?.scanOnPush ?? false;
    if (scanOnPush !== spec.scanOnPush) {
      this.options.log.warning(
        `ECR repository ${spec.name} has scan on push ${scanOnPush ? 'on' : 'off'}, not ${spec.scanOnPush ? 'on' : 'off'}; it was left as it is`,
      );
    }
  }

  private async applyLifecyclePolicy(spec: RepositorySpec, created: boolean): Promise<void> {
    const policy = spec.lifecyclePolicy as string;
    const registry = spec.registryId === undefined ? {} : { registryId: spec.registryId };
    if (!created) {
      try {
        const current = await this.call('GetLifecyclePolicy', () =>
          this.client.send(new GetLifecyclePolicyCommand({ repositoryName: spec.name, ...registry })),
        );
        if (current.lifecyclePolicyText !== undefined && samePolicy(current.lifecyclePolicyText, policy)) {
          this.options.log.debug(`ECR repository ${spec.name} already has this lifecycle policy`);
          return;
        }
      } catch (error) {
        if (!hasName(error, 'LifecyclePolicyNotFoundException')) throw error;
      }
    }
    await this.call('PutLifecyclePolicy', () =>
      this.client.send(
        new PutLifecyclePolicyCommand({ repositoryName: spec.name, ...registry, lifecyclePolicyText: policy }),
      ),
    );
    this.options.log.info(`Applied the lifecycle policy to ECR repository ${spec.name}`);
  }

  private async describe(name: string, registryId: string | undefined): Promise<Repository | undefined> {
    try {
      const response = await this.call('DescribeRepositories', () =>
        this.client.send(
          new DescribeRepositoriesCommand({
            repositoryNames: [name],
            ...(registryId === undefined ? {} : { registryId }),
          }),
        ),
      );
      return response.repositories?.[0];
    } catch (error) {
      if (hasName(error, 'RepositoryNotFoundException')) return undefined;
      throw error;
    }
  }

  /**
   * Which of these tags the repository already holds, with their digests. BatchGetImage reports
   * a missing tag in `failures` (ImageNotFound) rather than throwing, so one call answers for all.
   */
  async findTags(repository: RepositoryInfo, tags: readonly string[]): Promise<Map<string, RemoteImage>> {
    const found = new Map<string, RemoteImage>();
    if (tags.length === 0) return found;
    const response = await this.call('BatchGetImage', () =>
      this.client.send(
        new BatchGetImageCommand({
          repositoryName: repository.name,
          ...(repository.registryId === undefined ? {} : { registryId: repository.registryId }),
          imageIds: tags.map((imageTag) => ({ imageTag })),
          acceptedMediaTypes: MANIFEST_TYPES,
        }),
      ),
    );
    for (const failure of response.failures ?? []) {
      if (failure.failureCode === 'ImageNotFound' || failure.failureCode === 'ImageTagDoesNotMatchDigest') continue;
      throw new ConnectionError(
        `ECR BatchGetImage could not check tag ${failure.imageId?.imageTag ?? '?'}: ${failure.failureCode ?? ''} ${failure.failureReason ?? ''}`.trim(),
      );
    }
    for (const image of response.images ?? []) {
      const tag = image.imageId?.imageTag;
      const digest = image.imageId?.imageDigest;
      if (tag === undefined || digest === undefined) continue;
      found.set(tag, { tag, digest, configDigest: configDigest(image.imageManifest) });
    }
    return found;
  }
}

/** `https://123.dkr.ecr.eu-west-1.amazonaws.com` → `123.dkr.ecr.eu-west-1.amazonaws.com`. */
export function registryHost(proxyEndpoint: string): string {
  try {
    return new URL(proxyEndpoint).host;
  } catch {
    return proxyEndpoint.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  }
}

function configDigest(manifest: string | undefined): string | undefined {
  if (manifest === undefined) return undefined;
  try {
    const digest = (JSON.parse(manifest) as { config?: { digest?: unknown } }).config?.digest;
    return typeof digest === 'string' ? digest : undefined;
  } catch {
    return undefined;
  }
}
