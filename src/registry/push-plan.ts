import { ConfigurationError } from '../core/errors.js';
import type { RemoteImage } from './ecr.js';

/** The local image behind the source refs. */
export interface LocalImage {
  /** `sha256:…`: the image config digest. */
  id: string;
  /** `<repo>@sha256:…` digests this image is known under (after an earlier push or pull). */
  repoDigests: readonly string[];
}

export interface PushPlan {
  /** Tags to push. */
  push: string[];
  /** Tags the repository already has for this very image: nothing to upload. */
  present: string[];
  /** Tags that will move from another image (mutable repositories only). */
  moved: string[];
  /** The manifest digest already in the registry for this image, when a present tag told us. */
  knownDigest: string | undefined;
}

/** Does the registry's tag hold this local image? */
export function sameImage(local: LocalImage, remote: RemoteImage, repositoryUri: string): boolean {
  if (remote.configDigest !== undefined && remote.configDigest === local.id) return true;
  return local.repoDigests.includes(`${repositoryUri}@${remote.digest}`);
}

/**
 * Decide per tag before any upload: a tag that already holds this image needs no push; a tag that
 * holds another image is an error on an immutable repository (ECR would reject the push with
 * ImageTagAlreadyExistsException after the layers were uploaded) and a move on a mutable one.
 */
export function planPush(options: {
  tags: readonly string[];
  remote: ReadonlyMap<string, RemoteImage>;
  local: LocalImage;
  repositoryUri: string;
  tagMutability: string;
}): PushPlan {
  // IMMUTABLE_WITH_EXCLUSION lets some tags move; only ECR knows which, so it decides at push time.
  const immutable = options.tagMutability === 'IMMUTABLE';
  const plan: PushPlan = { push: [], present: [], moved: [], knownDigest: undefined };
  const conflicts: string[] = [];
  for (const tag of options.tags) {
    const remote = options.remote.get(tag);
    if (remote === undefined) {
      plan.push.push(tag);
    } else if (sameImage(options.local, remote, options.repositoryUri)) {
      plan.present.push(tag);
      plan.knownDigest ??= remote.digest;
    } else if (immutable) {
      conflicts.push(`${tag} (holds ${remote.digest})`);
    } else {
      plan.moved.push(tag);
      plan.push.push(tag);
    }
  }
  if (conflicts.length > 0) {
    throw new ConfigurationError(
      `${options.repositoryUri} is immutable and already has ${conflicts.join(', ')} for another image than ${options.local.id}; ` +
        'nothing was pushed. Build a new commit (tags follow the commit) or remove the old image from the repository.',
      'source',
    );
  }
  return plan;
}

/** A local source reference split into repository and tag. */
export interface SourceRef {
  ref: string;
  name: string;
  tag: string;
}

/**
 * `client-a-node:abc1234` → name and tag. The tag is what lands in ECR, so it is required: an
 * untagged ref would silently mean `latest`, and a digest ref has no tag to push under.
 */
export function parseSourceRef(ref: string): SourceRef {
  if (ref.includes('@')) {
    throw new ConfigurationError(`"${ref}" is a digest reference; give a local image as name:tag`, 'source');
  }
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash + 1 || colon === ref.length - 1) {
    throw new ConfigurationError(`"${ref}" has no tag; give each local image as name:tag`, 'source');
  }
  return { ref, name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}
