import { ConfigurationError } from '../core/errors.js';
import { REGISTRY_HOST, splitRegistry } from '../core/names.js';

/**
 * Tag and name rules of the OCI distribution spec, which ECR enforces: a tag is at most 128
 * characters of `[A-Za-z0-9_.-]` and does not start with `.` or `-`; a repository name is
 * lowercase path components separated by `/`, each `[a-z0-9]` runs joined by `.`, `_`, `__` or `-`.
 */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const NAME_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** ECR's own limit on repository names. */
const MAX_NAME_LENGTH = 256;

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/**
 * Turn free text (a branch name) into a valid tag: invalid characters become `-`, runs of `-`
 * collapse, leading `.`/`-` and trailing `-` are dropped, the result is cut to 128 characters.
 * Returns undefined when nothing usable is left.
 */
export function sanitizeTag(text: string): string | undefined {
  const tag = text
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 128)
    .replace(/[.-]+$/, '');
  return tag === '' ? undefined : tag;
}

/**
 * Lowercase an image name such as `Client-A Node` into `client-a-node`, keeping `/` path
 * components. A leading registry host (`123.dkr.ecr.eu-west-1.amazonaws.com/`, `127.0.0.1:5000/`)
 * is kept as it is, for builds that push themselves.
 */
export function sanitizeImageName(name: string, input = 'name'): string {
  const { registry, path } = splitRegistry(name.trim());
  if (registry !== undefined && !REGISTRY_HOST.test(registry.toLowerCase())) {
    throw new ConfigurationError(`"${registry}" is not a registry host`, input);
  }
  const components = path
    .toLowerCase()
    .split('/')
    .map((part) =>
      part
        .replace(/[^a-z0-9._-]+/g, '-')
        // Runs of separators are valid only as `__` or `-…-`; anything else becomes one `-`.
        .replace(/[._-]{2,}/g, (run) => (/^(__|-+)$/.test(run) ? run : '-'))
        .replace(/^[._-]+|[._-]+$/g, ''),
    );
  if (components.some((part) => part === '')) {
    throw new ConfigurationError(`"${name}" does not make an image name (use letters, digits, - and /)`, input);
  }
  if (components.some((part) => !NAME_COMPONENT.test(part))) {
    throw new ConfigurationError(`"${name}" does not make a valid image name`, input);
  }
  const result = components.join('/');
  if (result.length > MAX_NAME_LENGTH) {
    throw new ConfigurationError(`the image name is longer than ${MAX_NAME_LENGTH} characters`, input);
  }
  return registry === undefined ? result : `${registry.toLowerCase()}/${result}`;
}

/** What the workflow run says about the commit being built. */
export interface CommitInfo {
  /** The full SHA of the commit whose tree is built. */
  sha: string;
  /** `refs/heads/main`, `refs/tags/v1.2.3`, `refs/pull/7/merge`, … */
  ref: string | undefined;
  /** The source branch of a pull request (`GITHUB_HEAD_REF`). */
  headRef: string | undefined;
}

export interface TagOptions {
  commit: CommitInfo;
  shaLength: number;
  /** Extra tags from the `tags` input, one per line. */
  extraTags: readonly string[];
  /** Add a tag named after the branch (mutable: it moves with every push). */
  branchTag: boolean;
  allowLatest: boolean;
}

export interface TagPlan {
  /** The short SHA: the image's version and its first tag. */
  version: string;
  /** The semantic version when a `v*` git tag was built, without the `v`. */
  semver: string | undefined;
  /** Every tag, short SHA first, without duplicates. */
  tags: string[];
  /** Things worth a warning (skipped tags). */
  notes: string[];
}

const SEMVER =
  /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/** `v1.2.3-rc.1+build.5` → `1.2.3-rc.1_build.5` (`+` is not allowed in a tag); undefined if not semver. */
export function semverTag(gitTag: string): string | undefined {
  if (!SEMVER.test(gitTag)) return undefined;
  return gitTag.slice(1).replace('+', '_');
}

export function shortSha(sha: string, length: number): string {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) {
    throw new ConfigurationError(`the commit SHA "${sha}" is not a full hexadecimal commit id`);
  }
  return sha.slice(0, length);
}

/**
 * The tags of one build: the short commit SHA (the version), then the semver of a `v*` git tag,
 * then the branch tag when asked for, then the extra tags. `latest` is refused unless allowed:
 * a moving tag hides which commit runs, and an immutable repository rejects it on the second push.
 */
export function computeTags(options: TagOptions): TagPlan {
  const version = shortSha(options.commit.sha, options.shaLength);
  const notes: string[] = [];
  const tags: string[] = [version];
  const ref = options.commit.ref ?? '';

  let semver: string | undefined;
  if (ref.startsWith('refs/tags/v')) {
    const gitTag = ref.slice('refs/tags/'.length);
    semver = semverTag(gitTag);
    if (semver === undefined)
      notes.push(`git tag "${gitTag}" is not a semantic version (vMAJOR.MINOR.PATCH); no version tag added`);
    else tags.push(semver);
  }

  if (options.branchTag) {
    const branch =
      options.commit.headRef || (ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined);
    const tag = branch === undefined ? undefined : sanitizeTag(branch);
    if (tag === undefined) notes.push('no branch to tag (not a branch build)');
    else if (tag.toLowerCase() === 'latest' && !options.allowLatest)
      notes.push('branch tag "latest" skipped (allow-latest is false)');
    else tags.push(tag);
  }

  for (const extra of options.extraTags) {
    if (!isValidTag(extra)) {
      throw new ConfigurationError(
        `"${extra}" is not a valid tag (at most 128 of A-Z a-z 0-9 _ . -, not starting with . or -)`,
        'tags',
      );
    }
    if (extra.toLowerCase() === 'latest' && !options.allowLatest) {
      throw new ConfigurationError('"latest" is refused: set allow-latest to true to push a moving latest tag', 'tags');
    }
    tags.push(extra);
  }

  return { version, semver, tags: [...new Set(tags)], notes };
}

export interface LabelOptions {
  sha: string;
  /** `https://github.com/<owner>/<repo>` when known. */
  source: string | undefined;
  created: Date;
  version: string;
  title: string;
}

/** OCI image annotations (https://github.com/opencontainers/image-spec/blob/main/annotations.md) as labels. */
export function ociLabels(options: LabelOptions): Map<string, string> {
  const labels = new Map<string, string>();
  labels.set('org.opencontainers.image.title', options.title);
  labels.set('org.opencontainers.image.revision', options.sha);
  if (options.source !== undefined) labels.set('org.opencontainers.image.source', options.source);
  labels.set('org.opencontainers.image.version', options.version);
  labels.set('org.opencontainers.image.created', options.created.toISOString());
  return labels;
}
