import nock from 'nock';
import { createEcrClient } from '../../../src/registry/ecr.js';

export const REGION = 'eu-west-1';
export const ENDPOINT = `https://api.ecr.${REGION}.amazonaws.com`;
export const REGISTRY = `123456789012.dkr.ecr.${REGION}.amazonaws.com`;
export const PASSWORD = 'eyJwYXlsb2FkIjoic2VjcmV0LXBhc3N3b3JkIn0';
export const TOKEN = Buffer.from(`AWS:${PASSWORD}`).toString('base64');
const TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';

/** An ECR client with fixed credentials, so the SDK's default chain never looks further (IMDS, files). */
export function testClient() {
  return createEcrClient({
    region: REGION,
    config: { credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret' } },
  });
}

export type Reply = [status: number, body: unknown];

export function awsError(type: string, message = type, status = 400): Reply {
  return [status, { __type: type, message }];
}

/**
 * The ECR JSON 1.1 API under nock: each operation answers from its queue of replies (the last
 * one repeats); an operation without replies answers 501 so the test fails. Calls are recorded.
 */
export class FakeEcrApi {
  readonly calls: { operation: string; body: Record<string, unknown> }[] = [];
  private readonly replies = new Map<string, Reply[]>();

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const api = this;
    nock(ENDPOINT)
      .persist()
      .post('/')
      .reply(function (_uri, body) {
        const target = String(this.req.headers['x-amz-target'] ?? '');
        const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
        api.calls.push({
          operation,
          body: (typeof body === 'string' ? JSON.parse(body) : body) as Record<string, unknown>,
        });
        const queue = api.replies.get(operation);
        if (queue === undefined || queue.length === 0) return [501, { __type: 'NotScripted', message: operation }];
        const [status, reply] = (queue.length > 1 ? queue.shift() : queue[0]) as Reply;
        return [status, JSON.stringify(reply), { 'content-type': 'application/x-amz-json-1.1' }];
      });
  }

  on(operation: string, ...replies: Reply[]): this {
    this.replies.set(operation, replies);
    return this;
  }

  count(operation: string): number {
    return this.calls.filter((c) => c.operation === operation).length;
  }

  operations(): string[] {
    return this.calls.map((c) => c.operation);
  }
}

export const tokenReply: Reply = [
  200,
  {
    authorizationData: [{ authorizationToken: TOKEN, expiresAt: 1_900_000_000, proxyEndpoint: `https://${REGISTRY}` }],
  },
];

export function repositoryReply(name: string, mutability = 'IMMUTABLE', scanOnPush = true): Record<string, unknown> {
  return {
    repositoryName: name,
    registryId: '123456789012',
    repositoryUri: `${REGISTRY}/${name}`,
    imageTagMutability: mutability,
    imageScanningConfiguration: { scanOnPush },
  };
}

/** A single-platform manifest whose config digest is the local image id. */
export function manifest(configDigest: string): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 1, digest: configDigest },
    layers: [],
  });
}
