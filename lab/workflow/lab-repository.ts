/**
 * A client repository's side of a run on the lab: its settings (secrets and variables pointing
 * at the lab), the stand-ins' endpoints (ECR-shaped, Discord-shaped, GitHub's Deployments API), and the platform team's
 * one-time onboarding of the client (its network, and the lab's router standing in for Traefik).
 * The demo and the workflow lab test share it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startDiscordReceiver, type DiscordMessage, type DiscordReceiver } from '../discord-receiver.js';
import { startEcrEndpoint, type EcrEndpoint } from '../ecr-endpoint.js';
import { startGithubApi, type GithubApi } from '../github-api.js';
import type { LabInfo } from '../lab.js';
import { Tenant } from '../../src/core/tenant.js';
import { ensureNetwork } from '../../src/state/docker.js';
import { LocalRunner } from '../../src/core/exec.js';
import { labStandIns, type StandIn } from './stand-ins/index.js';

export interface LabRepository {
  secrets: Record<string, string>;
  vars: Record<string, string>;
  standIns: StandIn[];
  discord: DiscordReceiver;
  ecr: EcrEndpoint;
  /** GitHub's REST API for Deployments, and the job token it accepts (the run's `github.token`). */
  github: GithubApi;
  close(): Promise<void>;
}

/**
 * The repository secrets and variables client-a's workflows read, set for the lab: the manager is
 * the lab's sshd (its key and pinned host key), the service is probed through `healthUrl`, the
 * image is built from Dockerfile.lab (the lab pulls no base image).
 */
export async function labRepository(
  lab: LabInfo,
  options: {
    healthUrl: string;
    verifyTimeout?: string;
    /** KEY=VALUE lines for the stack file (client-a's STACK_ENV variable). */
    stackEnv?: string;
    onMessage?: (message: DiscordMessage, edited: boolean) => void;
  },
): Promise<LabRepository> {
  const discord = await startDiscordReceiver(options.onMessage);
  // The lab registry takes any credentials; the token's password is random like ECR's.
  const ecr = await startEcrEndpoint({ registry: lab.registry, password: randomBytes(24).toString('base64url') });
  const github = await startGithubApi();
  return {
    secrets: {
      AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/client-deploy',
      SWARM_SSH_KEY: readFileSync(lab.ssh.privateKeyPath, 'utf8'),
      SWARM_KNOWN_HOSTS: lab.ssh.knownHostsLine,
      DISCORD_WEBHOOK: discord.url,
    },
    vars: {
      SWARM_MANAGER_HOST: lab.ssh.host,
      SWARM_SSH_PORT: String(lab.ssh.port),
      SWARM_SSH_USER: lab.ssh.user,
      DOCKERFILE: 'Dockerfile.lab',
      HEALTH_URL: options.healthUrl,
      VERIFY_TIMEOUT: options.verifyTimeout ?? '60s',
      // Dockerfile.lab's healthcheck runs every 2 s: a much shorter monitor than production's 40 s
      // still covers it, and keeps each rolling update of the lab short.
      STACK_ENV: options.stackEnv ?? 'UPDATE_MONITOR=8s',
    },
    standIns: labStandIns({ ecrEndpoint: ecr.url }),
    discord,
    ecr,
    github,
    close: async () => {
      await Promise.all([discord.close(), ecr.close(), github.close()]);
    },
  };
}

/** The platform team's onboarding step for a client: its attachable overlay network. */
export async function onboardClient(client: string): Promise<void> {
  await ensureNetwork(new LocalRunner(), Tenant.parse(client));
}

/**
 * A commit id for a directory standing in for a repository: a hash of its files and of `salt`
 * (like a real commit's time, it makes the same content committed again a new commit).
 */
export function treeSha(root: string, salt = ''): string {
  const hash = createHash('sha1').update(salt);
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(relative(root, path)).update('\0').update(readFileSync(path)).update('\0');
    }
  };
  walk(root);
  return hash.digest('hex');
}
