/**
 * `npm run demo`: the main job end to end on the local lab, through the same action code a
 * workflow runs — build-and-tag → push to the lab registry → swarm-deploy (over SSH, host key
 * pinned) → verify-health → notify-discord (to a local receiver that prints the message). Then a
 * broken release: the automatic rollback, the failed verdict with its reason, and the history.
 * Safe to run again: each run is a new release of the same client.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { createRouter, labUp, REPO_ROOT, type LabInfo } from '../lab/lab.js';
import { Inputs, mapInputs } from '../src/core/inputs.js';
import { ConsoleLog } from '../src/core/log.js';
import { memoryState, type RunHooks } from '../src/core/run.js';
import { run as buildAndTag } from '../src/actions/build-and-tag/main.js';
import { run as swarmDeploy } from '../src/actions/swarm-deploy/main.js';
import { run as verifyHealth } from '../src/actions/verify-health/main.js';
import { run as notifyDiscord } from '../src/actions/notify-discord/main.js';
import { readHistory } from '../src/state/history.js';
import { LocalRunner } from '../src/core/exec.js';

const CLIENT = 'client-a';
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = '') => console.log(s);
/** The terminal log, with the content of log groups (build and push output) folded away, as on GitHub. */
class DemoLog extends ConsoleLog {
  private folded = 0;
  constructor() {
    super((line) => {
      if (this.folded === 0 || /^(warning|error):/.test(line)) console.log(`    ${line.replace(/\n/g, '\n    ')}`);
    });
  }
  override async group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.info(`▸ ${name} (output folded)`);
    this.folded += 1;
    try {
      return await fn();
    } finally {
      this.folded -= 1;
    }
  }
}
const log = new DemoLog();

interface StepResult {
  outputs: Map<string, string>;
  failure: string | undefined;
}

/** Run an action's run() as the runner would: inputs in, outputs and failure recorded. */
async function step(
  title: string,
  action: (options: { inputs: Inputs; log: ConsoleLog; hooks: RunHooks }) => Promise<unknown>,
  inputs: Record<string, string>,
): Promise<StepResult> {
  say(bold(`▶ ${title}`));
  const outputs = new Map<string, string>();
  let failure: string | undefined;
  const started = Date.now();
  await action({
    inputs: new Inputs(mapInputs(inputs), (v) => log.mask(v)),
    log,
    hooks: { setOutput: (n, v) => void outputs.set(n, v), setFailed: (m) => void (failure = m), state: memoryState() },
  });
  const took = ((Date.now() - started) / 1000).toFixed(1);
  say(failure ? `  ✗ failed after ${took}s: ${log.redact(failure)}` : `  ✓ done in ${took}s`);
  return { outputs, failure };
}

/** A local HTTP endpoint shaped like Discord's webhook API that prints each message. */
function startReceiver(): Promise<{ url: string; server: Server; messages: Map<string, unknown> }> {
  const messages = new Map<string, unknown>();
  let counter = 0n;
  // Discord ids are snowflakes: milliseconds since 2015 shifted left 22 bits (notify reads the age from them).
  const snowflake = () => (BigInt(Date.now() - 1420070400000) << 22n) + (counter += 1n);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as {
        embeds?: { title?: string; description?: string; fields?: { name: string; value: string }[] }[];
      };
      const edit = /\/messages\/(\d+)$/.exec(req.url ?? '');
      const id = edit?.[1] ?? String(snowflake());
      messages.set(id, body);
      const embed = body.embeds?.[0];
      say(`  💬 Discord ${edit ? `edits message ${id}` : `posts message ${id}`}: ${embed?.title ?? ''}`);
      if (embed?.description) say(`     ${embed.description.split('\n')[0]}`);
      for (const field of embed?.fields ?? []) say(`     ${field.name}: ${field.value}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, ...body }));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ url: `http://127.0.0.1:${port}/api/webhooks/1234567890/demo-token-not-secret`, server, messages });
    }),
  );
}

function sshInputs(lab: LabInfo): Record<string, string> {
  return {
    host: lab.ssh.host,
    port: String(lab.ssh.port),
    user: lab.ssh.user,
    'ssh-key': readFileSync(lab.ssh.privateKeyPath, 'utf8'),
    'known-hosts': lab.ssh.knownHostsLine,
  };
}

/** The lab has no Traefik image to pull; a small router on client-a-net stands in for it. */
async function ensureRouter(lab: LabInfo): Promise<string> {
  const docker = new LocalRunner();
  const name = `${CLIENT}-demo-router`;
  const existing = await docker.run(['docker', 'service', 'inspect', '--format', '{{json .Endpoint.Ports}}', name], {
    allowFailure: true,
  });
  let port: number | undefined;
  if (existing.code === 0) {
    port = (JSON.parse(existing.stdout) as { PublishedPort: number }[] | null)?.[0]?.PublishedPort;
  }
  if (!port) {
    port = 18080;
    await docker.run(['docker', 'service', 'rm', name], { allowFailure: true });
    createRouter(lab, { name, client: CLIENT, service: 'api', port });
  }
  return `http://127.0.0.1:${port}`;
}

async function release(
  lab: LabInfo,
  label: string,
  sha: string,
  context: string,
  webhook: string,
  routerUrl: () => Promise<string>,
): Promise<{ status: string; reason?: string | undefined }> {
  say();
  say(bold(`━━ ${label} (commit ${sha.slice(0, 7)}) ━━`));
  const env = {
    ...process.env,
    GITHUB_SHA: sha,
    GITHUB_REPOSITORY: 'example/client-a',
    GITHUB_SERVER_URL: 'https://github.com',
  };
  const build = await step('build-and-tag + push to the lab registry', (o) => buildAndTag({ ...o, deps: { env } }), {
    name: `${lab.registry}/demo/client-a`,
    context,
    dockerfile: join(context, 'Dockerfile.lab'),
    'build-args': `GIT_SHA=${sha}\nBASE=${lab.baseImage}`,
    push: 'true',
  });
  if (build.failure) throw new Error(`build failed: ${build.failure}`);
  const image = `${lab.registry}/demo/client-a@${build.outputs.get('digest')}`;
  say(`  image ${image}`);

  const started = await step('notify-discord (started)', notifyDiscord, {
    'webhook-url': webhook,
    status: 'started',
    client: CLIENT,
    service: 'api',
    version: sha,
    environment: 'lab',
  });
  const deploy = await step('swarm-deploy (rolling update over SSH, watched)', swarmDeploy, {
    ...sshInputs(lab),
    client: CLIENT,
    'stack-file': 'examples/client-a/stack.yml',
    image,
    env: 'REPLICAS=2\nLOG_LEVEL=info',
    domain: 'client-a.demo.localhost',
    'service-port': '8080',
    timeout: '4m',
    'git-sha': sha,
  });
  const status = deploy.outputs.get('status') ?? 'failed';
  let final = status === 'deployed' ? 'success' : status === 'rolled-back' ? 'rolled-back' : 'failure';
  let reason = deploy.failure;
  if (status === 'deployed') {
    const verify = await step('verify-health (the new version really serves)', verifyHealth, {
      url: `${await routerUrl()}/health`,
      'expected-version': sha,
      consecutive: '3',
      interval: '1s',
      timeout: '90s',
    });
    if (verify.failure) {
      final = 'failure';
      reason = verify.failure;
    }
  }
  await step(`notify-discord (${final}, edits the same message)`, notifyDiscord, {
    'webhook-url': webhook,
    status: final,
    client: CLIENT,
    service: 'api',
    version: sha,
    environment: 'lab',
    'message-id': started.outputs.get('message-id') ?? '',
    ...(reason ? { reason: log.redact(reason) } : {}),
  });
  return { status, reason };
}

async function main(): Promise<void> {
  const began = Date.now();
  say(bold('swarm-deploy demo: ship examples/client-a onto the local lab swarm'));
  say(bold('▶ lab up (dockerd in swarm mode, registry, sshd on loopback)'));
  const lab = await labUp((line) => say(`    ${line}`));
  const receiver = await startReceiver();
  log.mask(receiver.url);
  let router: string | undefined;
  const routerUrl = async () => (router ??= await ensureRouter(lab));
  try {
    // A release from the repository as it is: its commit is a content hash of the app's source.
    const source = join(REPO_ROOT, 'examples', 'client-a');
    const good = createHash('sha1')
      .update(readFileSync(join(source, 'src', 'server.js')))
      .digest('hex');
    const first = await release(lab, 'Release 1: client-a as it is', good, source, receiver.url, routerUrl);
    if (first.status !== 'deployed') throw new Error(`the good release ended ${first.status}: ${first.reason}`);
    const served = await fetch(`${await routerUrl()}/version`).then((r) => r.text());
    say(`  ✓ client-a serves ${served.trim()} through the router`);

    // A broken commit: the server exits at start (a missing setting), as real releases do.
    const broken = join(lab.dir, 'demo', 'client-a-broken');
    rmSync(broken, { recursive: true, force: true });
    mkdirSync(broken, { recursive: true });
    cpSync(source, broken, { recursive: true });
    const server = join(broken, 'src', 'server.js');
    writeFileSync(
      server,
      `console.error('fatal: DATABASE_URL is not set');\nprocess.exit(3);\n${readFileSync(server, 'utf8')}`,
    );
    const bad = createHash('sha1').update(readFileSync(server)).digest('hex');
    const second = await release(lab, 'Release 2: a broken commit', bad, broken, receiver.url, routerUrl);
    const stillServed = await fetch(`${await routerUrl()}/version`).then((r) => r.text());

    say();
    say(bold('━━ Release history of client-a (kept in the swarm) ━━'));
    const history = await readHistory(new LocalRunner(), CLIENT);
    for (const r of history.slice(0, 6)) {
      say(
        `  ${r.id}  ${r.kind.padEnd(8)} ${r.verdict.padEnd(11)} ${(r.gitSha ?? '').slice(0, 7)}  ${r.reason ? r.reason.slice(0, 80) : ''}`,
      );
    }
    say();
    say(bold('━━ Summary ━━'));
    say(`  release 1: ${first.status}; verified serving ${served.trim().slice(0, 7)}`);
    say(`  release 2: ${second.status} — ${second.reason ?? ''}`);
    say(
      `  still serving: ${stillServed.trim().slice(0, 7)} (${stillServed.trim() === served.trim() ? 'the previous version, as it should' : 'UNEXPECTED'})`,
    );
    say(`  Discord messages: ${receiver.messages.size} (one per release, edited in place)`);
    say(`  took ${((Date.now() - began) / 1000).toFixed(0)}s`);
    if (second.status !== 'rolled-back' || stillServed.trim() !== served.trim()) {
      throw new Error('the broken release was not rolled back as expected');
    }
  } finally {
    receiver.server.close();
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
