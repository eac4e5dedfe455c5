import { parseDuration } from '../../src/core/duration.js';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAppImage } from '../../lab/lab.js';
import { runActionStep } from '../../lab/runner/action-host.js';
import { MemoryLog } from '../support/memory-log.js';
import { LOCK_STATE, postState } from '../../src/actions/swarm-deploy/post-main.js';
import { Inputs, mapInputs } from '../../src/core/inputs.js';
import { readConnection } from '../../src/rollout/settings.js';
import { readHistory } from '../../src/state/history.js';
import { acquireLock, readLock, type HeldLock } from '../../src/state/lock.js';
import { LocalRunner } from '../../src/core/exec.js';
import {
  clientName,
  deployStep,
  docker,
  eventually,
  lab,
  privateKey,
  removeClient,
  sshInputs,
  startRouter,
  writeStack,
  type ActionRun,
  WEB_STACK,
} from './support.js';
import { Tenant } from '../../src/core/tenant.js';
import { expectations } from '../support/corpus.js';

// Issue 4 end to end, through the swarm-deploy action over SSH: the policy gate refuses with
// nothing changed, secret rotation keeps rollback working, the per-client lock serializes one
// client's deploys (and only that client's), expires after a crash, and holds for maintenance;
// the tier input places services on labelled nodes.

// Lock holders are named after the run; the action reads them from the runner's environment.
const RUN_CONTEXT = { serverUrl: 'https://github.example', repository: 'acme/app', actor: 'lab-tenancy' };

const run = Date.now().toString(36);
const v1 = buildAppImage(lab, { version: `t1-${run}` });
const v2 = buildAppImage(lab, { version: `t2-${run}` });
const clients: string[] = [];
const local = new LocalRunner();

function newClient(label: string): string {
  const client = clientName(label);
  clients.push(client);
  return client;
}

function inputs(client: string, stack: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...sshInputs(), client, 'stack-file': stack, timeout: '2m', 'stuck-timeout': '30s', ...extra };
}

/** Run the action as run `runId` of acme/app (the lock holder's run URL names it). */
function deployAs(runId: string, values: Record<string, string>): Promise<ActionRun> {
  return deployStep(values, { github: { ...RUN_CONTEXT, runId } });
}

/** Everything on the swarm whose name mentions the client, by kind. */
async function swarmObjectsOf(client: string): Promise<Record<string, string[]>> {
  const kinds = ['service', 'network', 'secret', 'config'] as const;
  const lists = await Promise.all(kinds.map((kind) => docker(kind, 'ls', '--format', '{{.Name}}')));
  return Object.fromEntries(
    kinds.map((kind, i) => [
      kind,
      (lists[i] ?? '')
        .split('\n')
        .filter((name) => name.includes(client))
        .sort(),
    ]),
  );
}

async function secretsOf(client: string): Promise<string[]> {
  return (await docker('secret', 'ls', '--filter', `label=swarm-deploy.client=${client}`, '--format', '{{.Name}}'))
    .split('\n')
    .filter(Boolean)
    .sort();
}

function connected(result: ActionRun): boolean {
  return result.log.lines.some((line) => line.startsWith('Connected to manager'));
}

afterAll(async () => {
  for (const client of clients) {
    await removeClient(client);
    rmSync(join(lab.dir, 'work', client), { recursive: true, force: true });
  }
}, 180_000);

describe('policy gate through the action', () => {
  const fixtures = new URL('../fixtures/policy/', import.meta.url);
  const names = readdirSync(fixtures)
    .filter((name) => name.endsWith('.yml'))
    .sort();

  it('refuses every fixture with its violations annotated on their lines, runs nothing remote and changes nothing', async () => {
    const client = newClient('policy');
    const before = await swarmObjectsOf(client);
    expect(names.length).toBeGreaterThanOrEqual(17);
    for (const name of names) {
      // The fixtures are written for a client called acme: the same stack, as this client wrote it.
      const text = readFileSync(new URL(name, fixtures), 'utf8').replaceAll('acme', client);
      const expected = expectations(text);
      const stack = writeStack(client, text, name);
      const result = await deployStep(
        inputs(client, stack, {
          domain: `${client}.example.com`,
          'service-port': '8080',
          'routed-service': 'web',
          tier: 'standard',
        }),
      );
      expect(result.failure, name).toMatch(/^Configuration error: .*refused by the cluster policy/);
      expect(result.outputs.get('status'), name).toBe('failed');
      // One annotation per violation, on the stack file's line; the failure (the step's last error) lists them all.
      const annotations = result.log.errors.slice(0, -1).map((e) => ({
        rule: /^\[([a-z-]+)\]/.exec(e.message)?.[1],
        line: e.annotation?.startLine,
        file: e.annotation?.file,
      }));
      expect(annotations, name).toStrictEqual(expected.map((e) => ({ ...e, file: stack })));
      for (const { rule, line } of expected) expect(result.failure, name).toContain(`${stack}:${line} [${rule}]`);
      // Refused before the connection was even opened.
      expect(connected(result), name).toBe(false);
    }
    expect(await swarmObjectsOf(client)).toStrictEqual(before);
    expect(before).toStrictEqual({ service: [], network: [], secret: [], config: [] });
  });
});

describe('secret rotation', () => {
  const client = newClient('secret');
  const stack = writeStack(
    client,
    `services:
  web:
    image: \${IMAGE}
    secrets: [api_key]
    deploy:
      replicas: 1
      update_config:
        monitor: 4s
      rollback_config:
        monitor: 4s
secrets:
  api_key: {}
`,
  );
  const deploy = (extra: Record<string, string>) =>
    deployStep(inputs(client, stack, { image: v1, 'keep-releases': '2', ...extra }));
  const secretValue = async (url: string) => {
    const response = await fetch(`${url}/secret/api_key`, { signal: AbortSignal.timeout(5000) });
    return `${response.status} ${(await response.text()).trim()}`;
  };

  it('rotates a secret, rolls back to the old value and prunes versions no kept release uses', async () => {
    const first = await deploy({ secrets: 'api_key=one-value' });
    expect(first.failure, first.log.text()).toBeUndefined();
    const [one] = await secretsOf(client);
    expect(one).toMatch(new RegExp(`^${client}_api_key_[0-9a-f]{8}$`));
    const router = await startRouter(client, 'web');
    expect(await secretValue(router.url)).toBe('200 one-value');

    // Unchanged content: nothing new is created, the same version is used.
    const same = await deploy({ secrets: 'api_key=one-value' });
    expect(same.failure, same.log.text()).toBeUndefined();
    expect(same.log.text()).not.toMatch(/Created secret/);
    expect(await secretsOf(client)).toStrictEqual([one]);

    const second = await deploy({ secrets: 'api_key=two-value' });
    expect(second.failure, second.log.text()).toBeUndefined();
    expect(second.outputs.get('status')).toBe('deployed');
    const afterTwo = await secretsOf(client);
    expect(afterTwo).toHaveLength(2);
    const two = afterTwo.find((name) => name !== one);
    expect(second.log.text()).toContain(`Created secret ${two}`);
    await eventually(
      'the new secret served',
      () => secretValue(router.url),
      (v) => v === '200 two-value',
      20_000,
    );
    // The value never reached the log.
    expect(second.log.text()).not.toContain('two-value');

    // Rollback restores the old version of the secret too (kept: the release that used it is retained).
    const back = await deploy({ 'rollback-to': 'previous' });
    expect(back.failure, back.log.text()).toBeUndefined();
    expect(back.outputs.get('status')).toBe('deployed');
    await eventually(
      'the old secret served',
      () => secretValue(router.url),
      (v) => v === '200 one-value',
      20_000,
    );
    expect(await secretsOf(client)).toStrictEqual(afterTwo);

    // keep-releases 2: after one more rotation the kept releases use `one` (the rollback) and
    // `three`; `two` is referenced by no kept release and goes.
    const third = await deploy({ secrets: 'api_key=three-value' });
    expect(third.failure, third.log.text()).toBeUndefined();
    await eventually(
      'the third secret served',
      () => secretValue(router.url),
      (v) => v === '200 three-value',
      20_000,
    );
    const remaining = await secretsOf(client);
    expect(remaining).toHaveLength(2);
    expect(remaining).toContain(one);
    expect(remaining).not.toContain(two);
    expect(third.log.text()).toMatch(new RegExp(`Removed 1 secret\\(s\\) no retained release uses: ${two}`));
    const kept = await readHistory(local, client);
    expect(kept).toHaveLength(2);
  }, 420_000);
});

describe('the deploy lock', () => {
  it('runs two deploys of one client started together one after the other', async () => {
    const client = newClient('same');
    const stack = writeStack(client, WEB_STACK);
    const [a, b] = await Promise.all([
      deployAs('1001', inputs(client, stack, { image: v1 })),
      deployAs('1002', inputs(client, stack, { image: v2 })),
    ]);
    for (const result of [a, b]) {
      expect(result.failure, result.log.text()).toBeUndefined();
      expect(result.outputs.get('status')).toBe('deployed');
      expect(result.log.text()).not.toMatch(/out of sequence/);
    }
    const waiter = [a, b].filter((r) => /Waiting for the deploy lock/.test(r.log.text()));
    expect(waiter).toHaveLength(1);
    const first = waiter[0] === a ? b : a;
    const second = waiter[0] as ActionRun;
    expect(second.log.text()).toMatch(
      /held by a deploy by lab-tenancy — https:\/\/github\.example\/acme\/app\/actions\/runs\/100[12]/,
    );
    expect(second.log.text()).toMatch(/Took the deploy lock of .* after waiting \d/);
    // The waiter deployed last: its image is what runs.
    const image = await docker(
      'service',
      'inspect',
      '--format',
      '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
      `${client}_web`,
    );
    expect(image.split('@')[0]).toBe(second === a ? v1 : v2);
    expect(first.outputs.get('release')).not.toBe(second.outputs.get('release'));
    const history = await readHistory(local, client);
    expect(history.map((r) => r.verdict)).toStrictEqual(['deployed', 'deployed']);
    expect(await readLock(local, client)).toBeUndefined();
  });

  it('lets two different clients deploy at the same time', async () => {
    const one = newClient('par-a');
    const two = newClient('par-b');
    const locks = new Set([Tenant.parse(one).lockConfig, Tenant.parse(two).lockConfig]);
    let together = false;
    let done = false;
    // Watch the locks while both run: both held at one moment proves the deploys overlapped.
    const watcher = (async () => {
      for (let i = 0; i < 600 && !done && !together; i++) {
        const held = (await docker('config', 'ls', '--filter', 'label=swarm-deploy.kind=lock', '--format', '{{.Name}}'))
          .split('\n')
          .filter((name) => locks.has(name));
        if (held.length === 2) together = true;
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    const results = await Promise.all([
      deployAs('2001', inputs(one, writeStack(one, WEB_STACK), { image: v1 })),
      deployAs('2002', inputs(two, writeStack(two, WEB_STACK), { image: v1 })),
    ]);
    done = true;
    await watcher;
    for (const result of results) {
      expect(result.failure, result.log.text()).toBeUndefined();
      expect(result.outputs.get('status')).toBe('deployed');
      expect(result.log.text()).not.toMatch(/Waiting for the deploy lock/);
    }
    expect(together).toBe(true);
  });

  it('takes over a lock left by a crashed run once it expires, and the post step releases a lock the main step left', async () => {
    const client = newClient('expiry');
    const stack = writeStack(client, WEB_STACK);
    // A deploy whose runner dies (SIGKILL) while it holds the lock: nothing releases it.
    const vanish = new AbortController();
    const killed = runActionStep({
      action: '.',
      with: inputs(client, stack, { image: v1, 'lock-expiry': '8s' }),
      secrets: [privateKey],
      github: { ...RUN_CONTEXT, runId: '3001', actor: 'crashed-runner' },
      kill: vanish.signal,
    });
    let left: HeldLock | undefined;
    try {
      left = await eventually('the killed run to take the lock', () => readLock(local, client), Boolean, 60_000);
    } finally {
      vanish.abort();
    }
    const crashed = await killed;
    expect(crashed.outcome, crashed.log.join('\n')).toBe('cancelled');
    expect(await readLock(local, client)).toMatchObject({ id: left?.id, holder: { actor: 'crashed-runner' } });

    const result = await deployStep(inputs(client, stack, { image: v2, 'lock-timeout': '60s' }));
    expect(result.failure, result.log.text()).toBeUndefined();
    expect(result.outputs.get('status')).toBe('deployed');
    // On a busy machine the lock may have expired before this deploy first looked (then it takes it
    // over without waiting): either way, it is taken over only once expired, and the warning says
    // whose it was and for how long it was held.
    const takeover = result.log.warnings
      .map((w) => w.message)
      .find((m) => m.startsWith('Taking over the expired deploy lock'));
    expect(takeover, result.log.text()).toMatch(
      /Taking over the expired deploy lock of .*crashed-runner — https:\/\/github\.example\/acme\/app\/actions\/runs\/3001 \(held for [\d.ms]+, expired [\d.ms]+ ago\)/,
    );
    expect(parseDuration(/held for ([\d.ms]+),/.exec(takeover ?? '')?.[1] ?? '')).toBeGreaterThanOrEqual(8000);
    expect(await readLock(local, client)).toBeUndefined();
    expect(await docker('config', 'ls', '-q', '--filter', `id=${left?.id ?? ''}`)).toBe('');

    // The main step was killed after taking the lock: its saved state tells the post step what to release.
    const orphan = await acquireLock({ runner: local, log: new MemoryLog(), client, waitMs: 0, expiryMs: 600_000 });
    // The post step's bundle, as the runner runs it at the end of the job with STATE_lock and STATE_connection.
    const post = await deployStep(inputs(client, stack), {
      phase: 'post',
      state: postState(readConnection(new Inputs(mapInputs(inputs(client, stack)))), orphan),
    });
    expect(post.failure, post.log.text()).toBeUndefined();
    expect(post.log.text()).toContain(`The deploy step did not finish: releasing ${Tenant.parse(client).lockConfig}`);
    expect(await readLock(local, client)).toBeUndefined();

    // When the main step finished (state cleared), the post step does nothing, not even connect.
    const idle = await deployStep(inputs(client, stack), {
      phase: 'post',
      state: { ...postState(readConnection(new Inputs(mapInputs(inputs(client, stack)))), orphan), [LOCK_STATE]: '' },
    });
    expect(idle.failure).toBeUndefined();
    expect(idle.log.lines).toStrictEqual([]);
  });

  it('blocks deploys at once during a maintenance hold, and lets them through after release', async () => {
    const client = newClient('hold');
    const stack = writeStack(client, WEB_STACK);
    const hold = await deployAs(
      '4001',
      inputs(client, stack, { lock: 'hold', 'lock-message': 'database migration INC-42' }),
    );
    expect(hold.failure, hold.log.text()).toBeUndefined();
    expect(hold.outputs.get('status')).toBe('held');

    const started = Date.now();
    const blocked = await deployAs('4002', inputs(client, stack, { image: v1, 'lock-timeout': '5m' }));
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(blocked.failure).toMatch(
      /on hold: a maintenance hold by lab-tenancy — https:\/\/github\.example\/acme\/app\/actions\/runs\/4001/,
    );
    expect(blocked.failure).toContain('"database migration INC-42"');
    expect(blocked.log.text()).not.toMatch(/Waiting for the deploy lock/);
    expect(await swarmObjectsOf(client)).toMatchObject({ service: [], secret: [] });

    const release = await deployAs('4003', inputs(client, stack, { lock: 'release' }));
    expect(release.failure, release.log.text()).toBeUndefined();
    expect(release.outputs.get('status')).toBe('released');
    const after = await deployAs('4004', inputs(client, stack, { image: v1 }));
    expect(after.failure, after.log.text()).toBeUndefined();
    expect(after.outputs.get('status')).toBe('deployed');
  });
});

describe('placement by tier', () => {
  const client = newClient('tier');
  const stack = writeStack(client, WEB_STACK);
  let node = '';

  beforeAll(async () => {
    node = await docker('info', '--format', '{{.Swarm.NodeID}}');
    const first = await deployStep(inputs(client, stack, { image: v1 }));
    expect(first.failure, first.log.text()).toBeUndefined();
  }, 180_000);

  it('detects an enterprise release stuck with no enterprise node, rolls it back, and deploys once a node is labelled', async () => {
    const started = Date.now();
    const stuck = await deployStep(
      inputs(client, stack, { image: v2, tier: 'enterprise', timeout: '3m', 'stuck-timeout': '6s' }),
    );
    const took = Date.now() - started;
    expect(stuck.outputs.get('status'), stuck.log.text()).toBe('rolled-back');
    expect(stuck.failure).toMatch(/stuck pending/);
    expect(took).toBeLessThan(90_000); // well before the 3 minute timeout
    const spec = await docker(
      'service',
      'inspect',
      '--format',
      '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{json .Spec.TaskTemplate.Placement}}',
      `${client}_web`,
    );
    expect(spec).toContain(`t1-${run}@sha256:`);
    expect(spec).not.toContain('enterprise');

    // Other lab tests share this node: the label is there only for this one deploy.
    try {
      await docker('node', 'update', '--label-add', 'tier=enterprise', node);
      const placed = await deployStep(inputs(client, stack, { image: v2, tier: 'enterprise' }));
      expect(placed.failure, placed.log.text()).toBeUndefined();
      expect(placed.outputs.get('status')).toBe('deployed');
      const constraints = await docker(
        'service',
        'inspect',
        '--format',
        '{{json .Spec.TaskTemplate.Placement.Constraints}}',
        `${client}_web`,
      );
      expect(constraints).toContain('node.labels.tier == enterprise');
    } finally {
      await docker('node', 'update', '--label-rm', 'tier', node);
    }
    expect(await docker('node', 'inspect', '--format', '{{json .Spec.Labels}}', node)).not.toContain('enterprise');
  }, 300_000);
});
