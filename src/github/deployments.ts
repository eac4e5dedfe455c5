/**
 * GitHub Deployments that tell which release runs. A job that names an `environment` gets a
 * deployment of the commit it ran for; after a rollback that is the wrong commit. This records a
 * deployment of the commit that now runs, successful and pointing at the service, and marks the
 * one it replaced, through GitHub's own client (@actions/github).
 */
import { getOctokit } from '@actions/github';
import { ConfigurationError } from '../core/errors.js';

/** The REST calls used here, as @actions/github's client exposes them (tests pass the real client against nock). */
export type GithubClient = ReturnType<typeof getOctokit>;

export interface DeploymentRecord {
  /** `owner/name` of the repository the deployment belongs to. */
  repository: string;
  environment: string;
  /** The commit that now runs. */
  sha: string;
  /** The service's URL, shown on the environment. */
  url?: string | undefined;
  /** The run that recorded it. */
  logUrl?: string | undefined;
  description: string;
  /** The commit whose deployment this one replaces (a release rolled back), marked inactive. */
  replaces?: string | undefined;
}

export interface RecordedDeployment {
  id: number;
  /** The replaced commit's deployment that was marked, if one was found. */
  marked?: number | undefined;
}

const SHA = /^[0-9a-f]{40}$/;
const REPOSITORY = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;

/** Checks what GitHub would refuse (or read as something else) before any request. */
export function checkRecord(record: DeploymentRecord): void {
  if (!REPOSITORY.test(record.repository))
    throw new ConfigurationError(`${JSON.stringify(record.repository)} is not owner/name`, 'repository');
  if (!SHA.test(record.sha))
    throw new ConfigurationError(`${JSON.stringify(record.sha)} is not a full 40-character commit SHA`, 'sha');
  if (record.replaces !== undefined && !SHA.test(record.replaces))
    throw new ConfigurationError(
      `${JSON.stringify(record.replaces)} is not a full 40-character commit SHA`,
      'replaces-sha',
    );
  if (record.environment.trim() === '' || record.environment.length > 255)
    throw new ConfigurationError('must name the environment (1 to 255 characters)', 'environment');
}

/** GitHub keeps at most 140 characters of a deployment's or a status's description. */
export function shortDescription(text: string): string {
  return text.length <= 140 ? text : `${text.slice(0, 139)}…`;
}

/**
 * Creates the deployment of the running commit with a `success` status, then marks the newest
 * deployment of the replaced commit in the same environment `inactive`, saying what replaced it.
 */
export async function recordDeployment(client: GithubClient, record: DeploymentRecord): Promise<RecordedDeployment> {
  checkRecord(record);
  const [owner, repo] = record.repository.split('/') as [string, string];
  const description = shortDescription(record.description);
  const created = await client.rest.repos.createDeployment({
    owner,
    repo,
    ref: record.sha,
    environment: record.environment,
    description,
    // The commit already runs: no merge of the default branch, no wait for commit statuses.
    auto_merge: false,
    required_contexts: [],
    transient_environment: false,
  });
  if (created.status !== 201 || !('id' in created.data))
    throw new Error(`GitHub did not create the deployment (HTTP ${created.status})`);
  const id = created.data.id;
  await client.rest.repos.createDeploymentStatus({
    owner,
    repo,
    deployment_id: id,
    state: 'success',
    description,
    ...(record.url ? { environment_url: record.url } : {}),
    ...(record.logUrl ? { log_url: record.logUrl } : {}),
  });
  if (record.replaces === undefined || record.replaces === record.sha) return { id };
  const previous = await client.rest.repos.listDeployments({
    owner,
    repo,
    sha: record.replaces,
    environment: record.environment,
    per_page: 1,
  });
  const replaced = previous.data[0];
  if (!replaced) return { id };
  await client.rest.repos.createDeploymentStatus({
    owner,
    repo,
    deployment_id: replaced.id,
    state: 'inactive',
    description: shortDescription(`Rolled back: ${record.sha.slice(0, 7)} runs instead. ${record.description}`),
    ...(record.logUrl ? { log_url: record.logUrl } : {}),
  });
  return { id, marked: replaced.id };
}

/** GitHub's client for a token, on the API the runner names (GITHUB_API_URL: GitHub Enterprise Server too). */
export function githubClient(token: string, apiUrl: string | undefined, fetchImpl: typeof fetch): GithubClient {
  return getOctokit(token, {
    ...(apiUrl ? { baseUrl: apiUrl } : {}),
    request: { fetch: fetchImpl },
  });
}
