/**
 * An HTTP endpoint shaped like the ECR API (AWS JSON 1.1 over `POST /`), enough for ecr-push and
 * aws-actions/amazon-ecr-login's stand-in, backed by a real registry: the SDK reaches it through
 * `AWS_ENDPOINT_URL_ECR`. Requests must be signed with the lab's access key id.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';
/** The access key id the stand-in for configure-aws-credentials exports, and the only one accepted. */
export const LAB_ACCESS_KEY_ID = 'AKIDLAB';

export interface EcrEndpoint {
  url: string;
  /** The operations called, in order. */
  calls: string[];
  /** Repositories created, with their tag mutability. */
  repositories: Map<string, string>;
  close(): Promise<void>;
}

export async function startEcrEndpoint(options: {
  /** The registry (`host:port`) the token is for and the repositories live in. */
  registry: string;
  /** The password GetAuthorizationToken hands out (user `AWS`). */
  password: string;
}): Promise<EcrEndpoint> {
  const { registry, password } = options;
  const calls: string[] = [];
  const repositories = new Map<string, string>();
  const basicAuth = `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}`;

  /** The registry's own answer for a tag: manifest digest and body, or undefined when absent. */
  async function registryManifest(repository: string, tag: string) {
    const response = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
      headers: { Authorization: basicAuth, Accept: MANIFEST_V2 },
    });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw new Error(`registry answered ${response.status}`);
    return { digest: response.headers.get('docker-content-digest') ?? '', body: await response.text() };
  }

  const repositoryShape = (repositoryName: string) => ({
    repositoryName,
    registryId: '123456789012',
    repositoryUri: `${registry}/${repositoryName}`,
    imageTagMutability: repositories.get(repositoryName),
    imageScanningConfiguration: { scanOnPush: true },
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    const operation = String(request.headers['x-amz-target'] ?? '').replace(TARGET_PREFIX, '');
    calls.push(operation);
    const send = (status: number, payload: unknown) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(payload));
    };
    const fail = (type: string, message: string) => send(400, { __type: type, message });
    if (!String(request.headers.authorization ?? '').startsWith(`AWS4-HMAC-SHA256 Credential=${LAB_ACCESS_KEY_ID}`)) {
      return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    const repositoryName = String(body.repositoryName ?? (body.repositoryNames as string[] | undefined)?.[0] ?? '');
    switch (operation) {
      case 'GetAuthorizationToken':
        return send(200, {
          authorizationData: [
            {
              authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'),
              expiresAt: Math.floor(Date.now() / 1000) + 12 * 3600,
              proxyEndpoint: `http://${registry}`,
            },
          ],
        });
      case 'DescribeRepositories':
        if (!repositories.has(repositoryName))
          return fail('RepositoryNotFoundException', `The repository with name '${repositoryName}' does not exist`);
        return send(200, { repositories: [repositoryShape(repositoryName)] });
      case 'CreateRepository':
        repositories.set(repositoryName, String(body.imageTagMutability ?? 'MUTABLE'));
        return send(200, { repository: repositoryShape(repositoryName) });
      case 'BatchGetImage': {
        const images: unknown[] = [];
        const failures: unknown[] = [];
        for (const id of body.imageIds as { imageTag: string }[]) {
          const found = await registryManifest(repositoryName, id.imageTag);
          if (found === undefined)
            failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
          else
            images.push({
              imageId: { imageTag: id.imageTag, imageDigest: found.digest },
              imageManifest: found.body,
              imageManifestMediaType: MANIFEST_V2,
            });
        }
        return send(200, { images, failures });
      }
      default:
        return fail('UnknownOperationException', operation);
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    repositories,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
