/**
 * A local HTTP endpoint shaped like GitHub's REST API for Deployments: create a deployment, add a
 * status to it, list a commit's deployments in an environment (newest first). It accepts only the
 * job token it was started with, as `Authorization: token …` or `Bearer …`. The demo and the
 * workflow tests read what the repository's environments page would show.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface DeploymentStatus {
  state: string;
  description: string;
  environmentUrl?: string | undefined;
  logUrl?: string | undefined;
}

export interface Deployment {
  id: number;
  repository: string;
  sha: string;
  environment: string;
  description: string;
  statuses: DeploymentStatus[];
}

export interface GithubApi {
  url: string;
  token: string;
  deployments: Deployment[];
  /** The deployment the environment shows: the newest whose latest status is `success`. */
  active(environment: string): Deployment | undefined;
  close(): Promise<void>;
}

export async function startGithubApi(): Promise<GithubApi> {
  const token = `ghs_lab${randomBytes(12).toString('hex')}`;
  const deployments: Deployment[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const auth = req.headers.authorization ?? '';
      if (auth !== `token ${token}` && auth !== `Bearer ${token}`) return send(401, { message: 'Bad credentials' });
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = /^\/repos\/([^/]+\/[^/]+)\/deployments(?:\/(\d+)\/statuses)?$/.exec(url.pathname);
      if (!route) return send(404, { message: 'Not Found' });
      const [, repository = '', id] = route;
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
      } catch {
        return send(400, { message: 'Problems parsing JSON' });
      }
      if (req.method === 'GET' && id === undefined) {
        const sha = url.searchParams.get('sha');
        const environment = url.searchParams.get('environment');
        const found = deployments
          .filter((d) => d.repository === repository)
          .filter((d) => (sha === null || d.sha === sha) && (environment === null || d.environment === environment))
          .reverse()
          .slice(0, Number(url.searchParams.get('per_page') ?? 30));
        return send(200, found.map(view));
      }
      if (req.method === 'POST' && id === undefined) {
        if (typeof body.ref !== 'string' || typeof body.environment !== 'string')
          return send(422, { message: 'ref and environment are required' });
        const deployment: Deployment = {
          id: deployments.length + 1,
          repository,
          sha: body.ref,
          environment: body.environment,
          description: String(body.description ?? ''),
          statuses: [],
        };
        deployments.push(deployment);
        return send(201, view(deployment));
      }
      if (req.method === 'POST' && id !== undefined) {
        const deployment = deployments.find((d) => d.id === Number(id) && d.repository === repository);
        if (!deployment) return send(404, { message: 'Not Found' });
        const state = String(body.state ?? '');
        if (!['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'].includes(state))
          return send(422, { message: `invalid state ${state}` });
        deployment.statuses.push({
          state,
          description: String(body.description ?? ''),
          environmentUrl: typeof body.environment_url === 'string' ? body.environment_url : undefined,
          logUrl: typeof body.log_url === 'string' ? body.log_url : undefined,
        });
        return send(201, { id: deployment.statuses.length, state });
      }
      return send(405, { message: 'Method Not Allowed' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    deployments,
    active: (environment) =>
      [...deployments].reverse().find((d) => d.environment === environment && d.statuses.at(-1)?.state === 'success'),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function view(d: Deployment) {
  return { id: d.id, sha: d.sha, ref: d.sha, environment: d.environment, description: d.description };
}
