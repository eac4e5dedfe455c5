import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, ConfigurationError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import type { CommandRunner } from '../core/exec.js';
import type { LocalImage } from './push-plan.js';

/** The last `digest: sha256:…` that `docker push` printed (`<tag>: digest: sha256:… size: 527`). */
export function pushedDigest(output: string): string | undefined {
  const matches = [...output.matchAll(/digest: (sha256:[0-9a-f]{64})/g)];
  return matches.at(-1)?.[1];
}

/**
 * Registry errors worth another push: throttling (429, toomanyrequests) and server errors (5xx).
 * docker already retries single layer uploads; this covers a push that gave up as a whole.
 */
export function isRetryablePushError(error: unknown): boolean {
  if (!(error instanceof CommandError)) return false;
  return /\b(429|5\d\d)\b|toomanyrequests|too many requests|ThrottlingException|unexpected HTTP status: 5|Service Unavailable|Bad Gateway|Gateway Time-?out|Internal Server Error/i.test(
    error.stderrTail,
  );
}

/**
 * docker commands against one registry with their own, job-scoped Docker config directory
 * (`docker --config`): the login never lands in the user's ~/.docker/config.json, so no
 * 12-hour registry token outlives the job on a self-hosted runner. `dispose()` removes it.
 */
export class DockerRegistrySession {
  private constructor(
    private readonly runner: CommandRunner,
    readonly configDir: string,
  ) {}

  /** A fresh config directory under RUNNER_TEMP (emptied by the runner after every job) or the system temp. */
  static async open(
    runner: CommandRunner,
    parent = process.env.RUNNER_TEMP || tmpdir(),
  ): Promise<DockerRegistrySession> {
    return new DockerRegistrySession(runner, await mkdtemp(join(parent, 'docker-config-')));
  }

  private docker(...args: string[]): string[] {
    return ['docker', '--config', this.configDir, ...args];
  }

  /** `docker login --password-stdin`: the password travels on stdin, never in argv. */
  async login(registry: string, username: string, password: string): Promise<void> {
    await this.runner.run(this.docker('login', '--username', username, '--password-stdin', registry), {
      stdin: password,
    });
  }

  async tag(source: string, target: string): Promise<void> {
    await this.runner.run(this.docker('tag', source, target));
  }

  /** Pushes one reference and returns the manifest digest the registry stored. */
  async push(ref: string, log: Log): Promise<string> {
    const result = await this.runner.run(this.docker('push', ref));
    for (const line of result.stdout.split('\n')) if (line.trim() !== '') log.info(line);
    const digest = pushedDigest(result.stdout) ?? (await this.repoDigest(ref));
    if (digest === undefined)
      throw new CommandError('docker push', 0, 'the push printed no digest and the image has none for this repository');
    return digest;
  }

  /** The digest docker recorded for `ref`'s repository after a push. */
  private async repoDigest(ref: string): Promise<string | undefined> {
    const image = await inspectLocalImage(this.runner, ref);
    const repository = ref.slice(0, ref.lastIndexOf(':'));
    const entry = image.repoDigests.find((d) => d.startsWith(`${repository}@`));
    return entry?.slice(repository.length + 1);
  }

  async dispose(): Promise<void> {
    await rm(this.configDir, { recursive: true, force: true });
  }
}

/** The id and known repo digests of a local image; a ConfigurationError when there is none. */
export async function inspectLocalImage(runner: CommandRunner, ref: string): Promise<LocalImage> {
  const result = await runner.run(['docker', 'image', 'inspect', '--format', '{{json .}}', ref], {
    allowFailure: true,
  });
  if (result.code !== 0) {
    throw new ConfigurationError(`no local image "${ref}" (build it first, e.g. with build-and-tag)`, 'source');
  }
  const parsed = JSON.parse(result.stdout) as { Id?: unknown; RepoDigests?: unknown };
  if (typeof parsed.Id !== 'string') throw new CommandError('docker image inspect', 0, `no image id for ${ref}`);
  const repoDigests = Array.isArray(parsed.RepoDigests)
    ? parsed.RepoDigests.filter((d): d is string => typeof d === 'string')
    : [];
  return { id: parsed.Id, repoDigests };
}
