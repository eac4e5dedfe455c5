/**
 * aws-actions/amazon-ecr-login — the real action calls ECR's GetAuthorizationToken with the
 * credentials in the environment, runs `docker login` to the registry and outputs `registry`
 * and `docker_username_<registry>` / `docker_password_<registry>` (every run of characters other
 * than [A-Za-z0-9_] replaced by `_`), the password masked with `mask-password: 'true'`. The
 * stand-in makes the same call with the real AWS SDK against the lab's ECR-shaped endpoint (from
 * the environment configure-aws-credentials' stand-in exported) and logs in to the lab registry,
 * into a Docker config of the job's own (DOCKER_CONFIG, exported) rather than the machine's.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type { StandIn } from './stand-in.js';

export const amazonEcrLogin: StandIn = {
  uses: 'aws-actions/amazon-ecr-login',
  async run({ with: inputs, env, workspace, log, mask }) {
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
    if (!accessKeyId || !secretAccessKey || !env.AWS_REGION) {
      return { outcome: 'failure', failure: 'Could not load credentials from any providers' };
    }
    const client = new ECRClient({
      region: env.AWS_REGION,
      maxAttempts: 1,
      ...(env.AWS_ENDPOINT_URL_ECR ? { endpoint: env.AWS_ENDPOINT_URL_ECR } : {}),
      credentials: {
        accessKeyId,
        secretAccessKey,
        ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
      },
    });
    try {
      const answer = await client.send(new GetAuthorizationTokenCommand({}));
      const data = answer.authorizationData?.[0];
      const [username = '', password = ''] = Buffer.from(data?.authorizationToken ?? '', 'base64')
        .toString('utf8')
        .split(':');
      const registry = (data?.proxyEndpoint ?? '').replace(/^https?:\/\//, '');
      if (inputs['mask-password'] !== 'false') mask(password);
      const dockerConfig = join(workspace, '..', 'docker-config');
      mkdirSync(dockerConfig, { recursive: true });
      const login = spawnSync('docker', ['login', '--username', username, '--password-stdin', registry], {
        input: password,
        encoding: 'utf8',
        env: { ...process.env, DOCKER_CONFIG: dockerConfig },
      });
      if (login.status !== 0) {
        return { outcome: 'failure', failure: `docker login ${registry} failed: ${login.stderr.trim()}` };
      }
      log(`Logged in to ${registry}`);
      const key = registry.replace(/[^A-Za-z0-9_]+/g, '_');
      return {
        outcome: 'success',
        outputs: { registry, [`docker_username_${key}`]: username, [`docker_password_${key}`]: password },
        env: { DOCKER_CONFIG: dockerConfig },
      };
    } catch (error) {
      return { outcome: 'failure', failure: error instanceof Error ? error.message : String(error) };
    } finally {
      client.destroy();
    }
  },
};
