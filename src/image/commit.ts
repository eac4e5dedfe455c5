import { readFileSync } from 'node:fs';
import type { CommitInfo } from './tags.js';

/** The parts of the workflow run environment a build needs. */
export interface RunEnvironment {
  commit: CommitInfo | undefined;
  /** `https://github.com/<owner>/<repo>`, for the source label. */
  repositoryUrl: string | undefined;
}

interface PullRequestPayload {
  pull_request?: { head?: { sha?: unknown } };
}

const PULL_REQUEST_EVENTS = new Set([
  'pull_request',
  'pull_request_target',
  'pull_request_review',
  'pull_request_review_comment',
]);

/**
 * Which commit this run builds. On pull-request events `GITHUB_SHA` is the merge commit GitHub
 * made for the run, which no branch ever points to; the image must carry the PR head SHA that
 * the author pushed, read from the event payload
 * (https://docs.github.com/en/actions/writing-workflows/choosing-when-your-workflow-runs/events-that-trigger-workflows#pull_request).
 */
export function runEnvironment(env: NodeJS.ProcessEnv, payload: unknown): RunEnvironment {
  let sha = env.GITHUB_SHA?.trim() || undefined;
  if (PULL_REQUEST_EVENTS.has(env.GITHUB_EVENT_NAME ?? '')) {
    const head = (payload as PullRequestPayload | undefined)?.pull_request?.head?.sha;
    if (typeof head === 'string' && head !== '') sha = head;
  }
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const repositoryUrl = env.GITHUB_REPOSITORY ? `${server}/${env.GITHUB_REPOSITORY}` : undefined;
  const commit =
    sha === undefined
      ? undefined
      : { sha: sha.toLowerCase(), ref: env.GITHUB_REF || undefined, headRef: env.GITHUB_HEAD_REF || undefined };
  return { commit, repositoryUrl };
}

/** The event payload GitHub wrote for this run, or undefined outside a workflow. */
export function readEventPayload(env: NodeJS.ProcessEnv): unknown {
  const path = env.GITHUB_EVENT_PATH;
  if (!path) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}
