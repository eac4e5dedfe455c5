import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECRClient } from '@aws-sdk/client-ecr';
import { buildAppImage, REPO_ROOT } from '../../lab/lab.js';
import { action as buildAndTag } from '../../src/actions/build-and-tag/main.js';
import { action as ecrPush } from '../../src/actions/ecr-push/main.js';
import { action as notifyDiscord } from '../../src/actions/notify-discord/main.js';
import { action as swarmDeploy } from '../../src/actions/swarm-deploy/main.js';
import { action as verifyHealth } from '../../src/actions/verify-health/main.js';
import { runActionInProcess, stepView, type StepLogView } from '../support/action-harness.js';
import { capture, clientName, docker, freePort, lab, removeClient, sshInputs, writeStack } from './support.js';

/*
 * Hostile input corpus: every input of every action gets hostile values (shell metacharacters,
 * newlines, very long strings, YAML anchors and merge keys, unicode lookalikes, ../ paths), one
 * input at a time with valid values elsewhere. Each run must end in a clear error naming the
 * input or treat the value as plain data; no injected command may run (each carries a marker
 * file that must never appear), and nothing on the swarm may change.
 */

const stamp = randomBytes(4).toString('hex');
const marker = (i: number) => join(tmpdir(), `lt-hostile-${stamp}-${i}`);

const corpus: string[] = [
  `$(touch ${marker(0)})`,
  `\`touch ${marker(1)}\``,
  `x; touch ${marker(2)}`,
  `x && touch ${marker(3)} #`,
  `x | touch ${marker(4)}`,
  `x\ntouch ${marker(5)}`,
  `x'; touch ${marker(6)}; echo '`,
  `x"; touch ${marker(7)}; echo "`,
  `\${IFS}touch\${IFS}${marker(8)}`,
  `-oProxyCommand=touch ${marker(9)}`,
  `--help`,
  `a`.repeat(70_000),
  `base: &anchor\n  x: 1\nmerged:\n  <<: *anchor\n  y: $(touch ${marker(10)})`,
  `<<: *a`,
  `&a [x, *a]`,
  `lt‐client`, // U+2010 hyphen
  `ｌｔ-ｃｌｉｅｎｔ`, // fullwidth
  `lt-сlient`, // Cyrillic es
  `lt-\u200bclient`, // zero width space
  `lt-\u202eevil`, // right-to-left override
  `../../../../etc/passwd`,
  `..\\..\\windows`,
  `/etc/shadow`,
  `{{.Spec}}{{json .}}`,
  `%s%n%x`,
  `KEY=$(touch ${marker(11)})\nOTHER=\`touch ${marker(12)}\``,
  `name=value\n../../etc/passwd=x`,
  `http://169.254.169.254/latest/meta-data/`,
  `file:///etc/passwd`,
  `true; touch ${marker(13)}`,
  `1e9999`,
  `-1`,
  `0x7fffffffffffffff`,
  `NaN`,
  `   `,
  `\t\r\n`,
  `a,b;c|d&e>f<g`,
  `*`,
  `?[a-z]*`,
  `~root/.ssh/id_rsa`,
];

interface ActionCase {
  name: string;
  dir: string;
  valid: () => Record<string, string>;
  run: (values: Record<string, string>) => Promise<{ failure: string | undefined; log: StepLogView }>;
  /** Failures that are not input errors but the run itself failing on data (no injection). */
  runtime: RegExp;
}

function inputNames(dir: string): string[] {
  const doc = parse(readFileSync(join(REPO_ROOT, dir, 'action.yml'), 'utf8')) as { inputs?: Record<string, unknown> };
  return Object.keys(doc.inputs ?? {});
}

/** An action's entry as the runner runs it: every input not in `values` is its action.yml default. */
async function step(dir: string, values: Record<string, string>, run: () => Promise<unknown>) {
  const { failure, log } = stepView(await runActionInProcess({ action: dir, with: values, run }));
  return { failure, log };
}

async function swarmSnapshot(): Promise<string> {
  const keep = (n: string) => !/^(lt-|sdr\.lt-|sdl\.lt-)/.test(n) || n.includes(stamp) || n.includes('hostile');
  const lists = await Promise.all(
    [
      ['service', 'ls'],
      ['network', 'ls'],
      ['secret', 'ls'],
      ['config', 'ls'],
    ].map(async (args) => (await docker(...args, '--format', '{{.Name}}')).split('\n').filter(keep).sort().join(',')),
  );
  return lists.join('\n');
}

const client = clientName('hostile');
/** argv of every docker build build-and-tag asked for: hostile values arrive as whole arguments, never as shell text. */
const builds: string[][] = [];
let server: Server;
let base: string;
const image = buildAppImage(lab, { version: 'hostile-ok' });

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    if (request.url?.startsWith('/api/webhooks/')) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id: '123456789012345678', channel_id: '1' }));
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', 'x-version': 'v1' });
    response.end('{"status":"ok","version":"v1"}');
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await removeClient(client);
}, 120_000);

const stack = () =>
  writeStack(
    client,
    `services:
  web:
    image: \${IMAGE}
    deploy:
      replicas: 1
`,
  );

const cases: ActionCase[] = [
  {
    name: 'swarm-deploy',
    dir: 'actions/swarm-deploy',
    // A dry run: valid values elsewhere plan a change, and change nothing.
    valid: () => ({ ...sshInputs(), client, 'stack-file': stack(), image, 'dry-run': 'true', timeout: '1m' }),
    run: (values) => step('actions/swarm-deploy', values, () => swarmDeploy.main()),
    runtime: /SSH (authentication|to)|No manager reachable|host key|known-hosts|privateKey|Cannot parse|no such file/i,
  },
  {
    name: 'build-and-tag',
    dir: 'actions/build-and-tag',
    valid: () => ({ name: `lt-hostile-${stamp}`, context: 'lab/app', push: 'false' }),
    run: (values) =>
      step('actions/build-and-tag', values, () =>
        buildAndTag.main({
          deps: {
            builder: 'classic',
            env: { GITHUB_SHA: 'a'.repeat(40), GITHUB_REF: 'refs/heads/main', GITHUB_WORKSPACE: REPO_ROOT },
            // The build itself is not what is tested here: record argv and write the image id instead.
            stream: async (argv: readonly string[]) => {
              builds.push([...argv]);
              const iid = argv[argv.indexOf('--iidfile') + 1];
              if (iid) writeFileSync(iid, `sha256:${'0'.repeat(64)}\n`);
              return { code: 0, tail: '', stdout: '' };
            },
          },
        }),
      ),
    runtime: /docker build|build not run|failed/i,
  },
  {
    name: 'ecr-push',
    dir: 'actions/ecr-push',
    valid: () => ({ source: `${image}`, repository: `lt-hostile-${stamp}`, region: 'us-east-1' }),
    run: (values) =>
      step('actions/ecr-push', values, () =>
        ecrPush.main({
          deps: {
            // A closed loopback port: the ECR API is never reached, nothing leaves the machine.
            ecrClient: (region) =>
              new ECRClient({
                region: region ?? 'us-east-1',
                endpoint: `http://127.0.0.1:9`,
                maxAttempts: 1,
                credentials: { accessKeyId: 'AKIDHOSTILE', secretAccessKey: 'hostile' },
              }),
          },
        }),
      ),
    runtime: /ECONNREFUSED|connect|ECR|network|socket/i,
  },
  {
    name: 'notify-discord',
    dir: 'actions/notify-discord',
    valid: () => ({
      'webhook-url': `${base}/api/webhooks/123456789012345678/hostiletoken${stamp}`,
      status: 'success',
      'fail-on-error': 'true',
    }),
    run: (values) => step('actions/notify-discord', values, () => notifyDiscord.main({ deps: { deadlineMs: 3000 } })),
    runtime: /Discord|webhook|400|HTTP/i,
  },
  {
    name: 'verify-health',
    dir: 'actions/verify-health',
    valid: () => ({
      url: `${base}/health`,
      timeout: '5s',
      interval: '100ms',
      consecutive: '1',
      'request-timeout': '1s',
    }),
    run: (values) => step('actions/verify-health', values, () => verifyHealth.main()),
    runtime: /health|expected|did not|timed out|version|status|body|window|error rate|p95/i,
  },
];

describe('hostile input corpus', () => {
  let before: string;
  let runs = 0;
  const outcomes: string[] = [];

  beforeAll(async () => {
    before = await swarmSnapshot();
  });

  describe.each(cases)('$name', (action) => {
    const names = inputNames(action.dir);
    it.each(names.map((name, i) => [name, i] as const))(
      'input %s: a clear error naming it, or plain data',
      async (name, i) => {
        // Two hostile values per input, rotating through the corpus so every value is used.
        for (const value of [corpus[i % corpus.length], corpus[(i * 7 + 3) % corpus.length]] as string[]) {
          const { failure, log } = await action.run({ ...action.valid(), [name]: value });
          runs += 1;
          capture(`hostile ${action.name} ${name}`, [log.text(), failure ?? ''].join('\n'));
          const clear =
            failure === undefined ||
            failure.includes(`"${name}"`) ||
            failure.includes(name) ||
            action.runtime.test(failure);
          outcomes.push(`${action.name}.${name}: ${failure === undefined ? 'plain data' : failure.slice(0, 100)}`);
          expect(clear, `${action.name} input ${name}: unclear failure: ${failure}`).toBe(true);
        }
      },
      60_000,
    );
  });

  it('ran at least 50 hostile values, no injected command ran and nothing on the swarm changed', async () => {
    expect(runs).toBeGreaterThanOrEqual(50);
    for (let i = 0; i <= 13; i++) expect(existsSync(marker(i)), `marker ${i}`).toBe(false);
    expect(await swarmSnapshot()).toBe(before);
    expect(outcomes.length).toBe(runs);
    expect(builds.length).toBeGreaterThan(0);
    for (const argv of builds) expect(argv[0]).toBe('docker');
  });
});
