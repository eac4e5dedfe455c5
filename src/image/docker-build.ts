import { ConfigurationError } from '../core/errors.js';

export type Builder = 'buildx' | 'classic';

/** Everything one `docker build` needs, already validated and sanitized. */
export interface BuildPlan {
  builder: Builder;
  context: string;
  dockerfile: string | undefined;
  /** Full references (`name:tag`) to tag the image with. */
  refs: readonly string[];
  labels: ReadonlyMap<string, string>;
  buildArgs: ReadonlyMap<string, string>;
  target: string | undefined;
  platforms: readonly string[];
  /** buildx cache specs such as `type=registry,ref=<repo>:buildcache`. */
  cacheFrom: readonly string[];
  cacheTo: readonly string[];
  /** Push from buildx directly; the classic builder pushes in a separate step. */
  push: boolean;
  /** Where docker writes the image id. */
  iidFile: string;
  /** Where buildx writes its metadata (the pushed digest); ignored by the classic builder. */
  metadataFile: string | undefined;
}

export interface BuildCommand {
  argv: string[];
  /** Environment additions for the command. */
  env: Record<string, string>;
  /** Options that do not apply to the chosen builder, for a warning. */
  ignored: string[];
}

/**
 * The docker argv for a build plan. buildx gets `--provenance=false`: a provenance attestation
 * turns a single image into a manifest list, which ECR basic scanning cannot read. The classic
 * builder runs with DOCKER_BUILDKIT=0 so a runner that sets DOCKER_BUILDKIT=1 without buildx
 * still builds.
 */
export function buildCommand(plan: BuildPlan): BuildCommand {
  const ignored: string[] = [];
  const argv = plan.builder === 'buildx' ? ['docker', 'buildx', 'build', '--progress=plain'] : ['docker', 'build'];
  if (plan.builder === 'buildx') argv.push('--provenance=false');
  if (plan.dockerfile !== undefined) argv.push('--file', plan.dockerfile);
  for (const ref of plan.refs) argv.push('--tag', ref);
  for (const [key, value] of plan.labels) argv.push('--label', `${key}=${value}`);
  for (const [key, value] of plan.buildArgs) argv.push('--build-arg', `${key}=${value}`);
  if (plan.target !== undefined) argv.push('--target', plan.target);

  if (plan.platforms.length > 1 && plan.builder === 'classic') {
    throw new ConfigurationError(
      `${plan.platforms.length} platforms need docker buildx, which is not installed (set up buildx or name one platform)`,
      'platforms',
    );
  }
  if (plan.platforms.length > 1 && !plan.push) {
    throw new ConfigurationError(
      'a multi-platform image cannot be loaded into the local image store: set push to true or name one platform',
      'platforms',
    );
  }
  if (plan.platforms.length > 0) argv.push('--platform', plan.platforms.join(','));

  if (plan.builder === 'buildx') {
    for (const spec of plan.cacheFrom) argv.push('--cache-from', spec);
    for (const spec of plan.cacheTo) argv.push('--cache-to', spec);
  } else {
    if (plan.cacheFrom.length > 0) ignored.push('cache-from');
    if (plan.cacheTo.length > 0) ignored.push('cache-to');
  }

  argv.push('--iidfile', plan.iidFile);
  if (plan.builder === 'buildx') {
    if (plan.metadataFile !== undefined) argv.push('--metadata-file', plan.metadataFile);
    // One exporter only: buildx before 0.13 refuses `--push --load` together. Without push the
    // image is loaded into the local store, where ecr-push finds it.
    argv.push(plan.push ? '--push' : '--load');
  }
  argv.push(plan.context);
  return { argv, env: plan.builder === 'classic' ? { DOCKER_BUILDKIT: '0' } : {}, ignored };
}

/** The pushed digest from a buildx metadata file (`containerimage.digest`). */
export function metadataDigest(metadata: unknown): string | undefined {
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const digest = (metadata as Record<string, unknown>)['containerimage.digest'];
  return typeof digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : undefined;
}
