import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runActionStep } from '../../lab/runner/action-host.js';
import { LocalRunner } from '../../src/swarm/runner.js';
import { stepView } from '../support/action-harness.js';
import { capture } from './support.js';

/*
 * ecr-push end to end on this machine: a real image from the local dockerd, its token from an
 * ECR-shaped endpoint (AWS JSON 1.1) reached through the SDK's AWS_ENDPOINT_URL_ECR, a real
 * docker-registry that accepts only that token's password, and the real docker login/push.
 */

const local = new LocalRunner();
const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921.';

const password = randomBytes(32).toString('base64url');
const name = `lt-ecr-${randomBytes(3).toString('hex')}`;
const sha = randomBytes(20).toString('hex');
let work: string;
let registryPid: number | undefined;
let registryPort: number;
let registry: string;
let ecr: Server;
let ecrPort: number;
const ecrCalls: string[] = [];
const repositories = new Map<string, string>();

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function basicAuth(): string {
  return `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}`;
}

/** The registry's own answer for a tag: manifest digest and body, or undefined when absent. */
async function registryManifest(
  repository: string,
  tag: string,
): Promise<{ digest: string; body: string } | undefined> {
  const response = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    headers: { Authorization: basicAuth(), Accept: MANIFEST_V2 },
  });
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw new Error(`registry answered ${response.status}`);
  return { digest: response.headers.get('docker-content-digest') ?? '', body: await response.text() };
}

async function manifestHead(repository: string, tag: string): Promise<string | null> {
  const response = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { Authorization: basicAuth(), Accept: MANIFEST_V2 },
  });
  expect(response.status).toBe(200);
  return response.headers.get('docker-content-digest');
}

function repositoryShape(repositoryName: string) {
  return {
    repositoryName,
    registryId: '123456789012',
    repositoryUri: `${registry}/${repositoryName}`,
    imageTagMutability: repositories.get(repositoryName),
    imageScanningConfiguration: { scanOnPush: true },
  };
}

/** Enough of the ECR API (AWS JSON 1.1 over POST /) for ecr-push, backed by the real registry. */
async function handleEcr(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
  const operation = String(request.headers['x-amz-target'] ?? '').replace(TARGET_PREFIX, '');
  ecrCalls.push(operation);
  const send = (status: number, payload: unknown) => {
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    response.end(JSON.stringify(payload));
  };
  const fail = (type: string, message: string) => send(400, { __type: type, message });
  if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 Credential=AKIDLAB')) {
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

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

/** The environment configure-aws-credentials leaves for later steps, pointed at the ECR-shaped endpoint. */
function awsEnvironment(): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_ECR: `http://127.0.0.1:${ecrPort}`,
    AWS_ACCESS_KEY_ID: 'AKIDLAB',
    AWS_SECRET_ACCESS_KEY: 'lab-secret',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** ecr-push's committed bundle as the runner runs it: only `source`, every other input its default. */
async function push(source: string) {
  const step = stepView(await runActionStep({ action: 'actions/ecr-push', with: { source }, env: awsEnvironment() }));
  capture('ecr-push', step.log.text());
  return { log: step.log, outputs: step.outputs, failures: step.failure === undefined ? [] : [step.failure] };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'lt-ecr-push-'));
  registryPort = await freePort();
  registry = `127.0.0.1:${registryPort}`;

  const htpasswd = await local.run(['htpasswd', '-niB', 'AWS'], { stdin: password });
  writeFileSync(join(work, 'htpasswd'), htpasswd.stdout);
  writeFileSync(
    join(work, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(work, 'storage')}`,
      'http:',
      `  addr: ${registry}`,
      'auth:',
      '  htpasswd:',
      '    realm: lt-ecr',
      `    path: ${join(work, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  // Detached, output to a file: a daemon must not hold the test runner's pipes.
  const out = openSync(join(work, 'registry.log'), 'a');
  const child = spawn('/usr/bin/docker-registry', ['serve', join(work, 'config.yml')], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  child.unref();
  registryPid = child.pid;
  await waitFor('docker-registry', async () => (await fetch(`http://${registry}/v2/`)).status === 401);

  ecr = createServer((request, response) => {
    handleEcr(request, response).catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => ecr.listen(0, '127.0.0.1', resolve));
  ecrPort = (ecr.address() as AddressInfo).port;

  copyFileSync('/usr/bin/busybox', join(work, 'busybox'));
  writeFileSync(join(work, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "true"]\n');
}, 60_000);

afterAll(async () => {
  if (registryPid !== undefined) {
    try {
      process.kill(registryPid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await new Promise((resolve) => (ecr ? ecr.close(resolve) : resolve(undefined)));
  const refs = await local.run(['docker', 'image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'], {
    allowFailure: true,
  });
  const ours = refs.stdout
    .split('\n')
    .filter((ref) => ref.startsWith(`${name}:`) || ref.startsWith(`${registry}/${name}:`));
  if (ours.length > 0) await local.run(['docker', 'image', 'rm', '--force', ...ours], { allowFailure: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('build-and-tag then ecr-push against an ECR-shaped endpoint and a password-protected registry', () => {
  let tags: string[] = [];
  let digest = '';

  test('build-and-tag builds a labelled image tagged by commit and semver with the classic builder', async () => {
    // The committed bundle with only its required input: the context is the default `.`, the checkout.
    const step = stepView(
      await runActionStep({
        action: 'actions/build-and-tag',
        with: { name },
        workspace: work,
        github: {
          sha,
          ref: 'refs/tags/v1.2.3',
          eventName: 'push',
          repository: 'acme/client-a',
          serverUrl: 'https://github.com',
        },
      }),
    );
    capture('build-and-tag', step.log.text());
    const { log } = step;
    const result = { outputs: step.outputs, failures: step.result.annotations.filter((a) => a.level !== 'notice') };
    expect(result.failures).toEqual([]);
    const version = sha.slice(0, 7);
    expect(result.outputs.get('version')).toBe(version);
    expect(result.outputs.get('image')).toBe(`${name}:${version}`);
    tags = (result.outputs.get('tags') ?? '').split('\n');
    expect(tags).toEqual([`${name}:${version}`, `${name}:1.2.3`]);
    expect(log.lines).toContain(`##[group]docker build ${name}:${version}`);
    expect(log.text()).toMatch(/Successfully built/);

    const labels = JSON.parse(
      (await local.run(['docker', 'image', 'inspect', '--format', '{{json .Config.Labels}}', `${name}:${version}`]))
        .stdout,
    ) as Record<string, string>;
    expect(labels['org.opencontainers.image.revision']).toBe(sha);
    expect(labels['org.opencontainers.image.version']).toBe('1.2.3');
    expect(labels['org.opencontainers.image.source']).toBe('https://github.com/acme/client-a');
    expect(labels['org.opencontainers.image.title']).toBe(name);
  });

  test('ecr-push creates the repository, logs in with the token and pushes; digest = the registry’s manifest digest', async () => {
    expect(tags).toHaveLength(2);
    const { log, outputs, failures } = await push(tags.join('\n'));
    // The contract: with only `source`, no default makes an error or a warning.
    expect(failures).toEqual([]);
    expect(log.warnings).toEqual([]);
    digest = outputs.get('digest') ?? '';
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await manifestHead(name, sha.slice(0, 7))).toBe(digest);
    expect(await manifestHead(name, '1.2.3')).toBe(digest);
    expect(outputs.get('registry')).toBe(registry);
    expect(outputs.get('repository-uri')).toBe(`${registry}/${name}`);
    expect(outputs.get('image')).toBe(`${registry}/${name}@${digest}`);
    expect(outputs.get('tags')).toBe(`${registry}/${name}:${sha.slice(0, 7)}\n${registry}/${name}:1.2.3`);
    expect(repositories.get(name)).toBe('IMMUTABLE');
    expect(ecrCalls).toEqual(
      expect.arrayContaining(['GetAuthorizationToken', 'DescribeRepositories', 'CreateRepository']),
    );
    // The password was masked and appears nowhere in what was logged.
    expect(log.masked).toContain(password);
    expect(log.text()).not.toContain(password);
    expect(log.text()).not.toContain(Buffer.from(`AWS:${password}`).toString('base64'));
  });

  test('pushing the same image again checks the tags and uploads nothing', async () => {
    expect(digest).not.toBe('');
    ecrCalls.length = 0;
    const { log, outputs, failures } = await push(tags.join('\n'));
    expect(failures).toEqual([]);
    expect(outputs.get('digest')).toBe(digest);
    expect(ecrCalls).toContain('BatchGetImage');
    expect(log.text()).toMatch(/already holds this image; not pushed again/);
    expect(log.lines.some((line) => line.startsWith('##[group]docker push'))).toBe(false);
  });

  test('another image under an existing tag of the immutable repository is refused before any upload', async () => {
    expect(digest).not.toBe('');
    const other = `${name}:${sha.slice(0, 7)}`;
    // Same tag, different content: what a non-reproducible rebuild of the same commit gives.
    await local.run(['docker', 'build', '--label', 'lt.rebuild=1', '--tag', other, work]);
    const { outputs, failures } = await push(other);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/is immutable and already has .* for another image.*nothing was pushed/);
    expect(outputs.get('digest')).toBeUndefined();
    expect(await manifestHead(name, sha.slice(0, 7))).toBe(digest);
  });
});
