import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseGoDuration } from '../../src/compose/stack.js';
import { buildAppImage, REPO_ROOT } from '../../lab/lab.js';
import {
  clientName,
  deployStep,
  docker,
  lab,
  local,
  recordSecrets,
  removeClient,
  sshInputs,
  writeStack,
} from './support.js';
import { realWorld } from '../support/corpus.js';

/*
 * The real-world corpus on the lab (see test/unit/compose/real-world.test.ts): each accepted stack
 * is deployed as its client wrote it, with the files beside it, and what runs is compared with what
 * Docker's own loader (`docker stack config`) reads from the same file: every setting the file makes
 * is on the running services, and only the platform's additions are added. Each refused stack is
 * refused with every rule of its first line, and nothing of it runs.
 */

const { root: corpus, refusedDir, accepted, refused } = realWorld;
const run = Date.now().toString(36);
const image = buildAppImage(lab, { version: `rw-${run}` });

const clients: string[] = [];
afterAll(async () => {
  for (const client of clients) await removeClient(client);
}, 300_000);

function newClient(label: string): string {
  const client = clientName(label.slice(0, 16).replace(/-+$/, ''));
  clients.push(client);
  return client;
}

/** The corpus is written for client `acme`: its names (`acme_...`, `acme.example.com`) become the test client's. */
function forClient(text: string, client: string): string {
  return text.replace(/\bacme(?=[_.-])/g, client);
}

/** A header comment of a corpus file (`# domain: ...`, `# routed-service: ...`). */
function header(text: string, key: string): string | undefined {
  return new RegExp(`^# ${key}: (.+)$`, 'm').exec(text)?.[1]?.trim();
}

type Json = Record<string, unknown>;

function rec(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

/** A duration as Docker's loader writes it (`1m0s`), in nanoseconds as the engine keeps it. */
function nanos(value: unknown): number {
  const ms = parseGoDuration(String(value));
  if (ms === undefined) throw new Error(`not a duration: ${String(value)}`);
  return Math.round(ms * 1e6);
}

/** A size as Docker's loader writes it (bytes, or with a unit), in bytes. */
function bytes(value: unknown): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(String(value).trim());
  if (!match) throw new Error(`not a size: ${String(value)}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(match[2] ?? '').toLowerCase()] ?? 1;
  return Math.round(Number(match[1]) * unit);
}

/** Label prefixes the deploy may add: the platform's own, Traefik's for the routed service, and Docker's stack labels. */
const ADDED_LABELS = ['swarm-deploy.', 'traefik.', 'com.docker.stack.'];

/** The loader's labels are on the service with their values; any other label is an addition of the platform. */
function expectLabels(what: string, read: unknown, running: unknown): void {
  const want = rec(read);
  const have = rec(running);
  for (const [key, value] of Object.entries(want)) expect(have[key], `${what} ${key}`).toBe(String(value ?? ''));
  const added = Object.keys(have).filter((key) => !(key in want));
  for (const key of added)
    expect(
      ADDED_LABELS.some((prefix) => key.startsWith(prefix)),
      `${what}: ${key} is added`,
    ).toBe(true);
}

/** The update or rollback settings the file makes, on the running service. */
function expectUpdateConfig(what: string, read: unknown, running: unknown): void {
  const want = rec(read);
  const have = rec(running);
  if ('parallelism' in want) expect(have.Parallelism ?? 0, `${what} parallelism`).toBe(Number(want.parallelism));
  if ('delay' in want) expect(have.Delay ?? 0, `${what} delay`).toBe(nanos(want.delay));
  if ('monitor' in want) expect(have.Monitor ?? 0, `${what} monitor`).toBe(nanos(want.monitor));
  if ('failure_action' in want) expect(have.FailureAction, `${what} failure_action`).toBe(want.failure_action);
  if ('order' in want) expect(have.Order, `${what} order`).toBe(want.order);
  if ('max_failure_ratio' in want)
    expect(have.MaxFailureRatio ?? 0, `${what} max_failure_ratio`).toBe(Number(want.max_failure_ratio));
}

function expectResources(what: string, read: unknown, running: unknown): void {
  const want = rec(read);
  const have = rec(running);
  if ('cpus' in want) expect(have.NanoCPUs, `${what} cpus`).toBe(Math.round(Number(want.cpus) * 1e9));
  if ('memory' in want) expect(have.MemoryBytes, `${what} memory`).toBe(bytes(want.memory));
}

/** What Docker's loader reads from the file, run where the file is, with the image the deploy used. */
async function dockerReads(file: string): Promise<Json> {
  const result = await local.run(['env', `IMAGE=${image}`, 'docker', 'stack', 'config', '--compose-file', file]);
  return rec(parse(result.stdout));
}

async function inspect(service: string): Promise<Json> {
  const [spec] = JSON.parse(await docker('service', 'inspect', service)) as Json[];
  return rec(spec);
}

/** The Swarm name of a top-level network, secret or config of the file, as the loader read it. */
function swarmName(client: string, key: string, definition: unknown): string {
  const def = rec(definition);
  if (typeof def.name === 'string') return def.name;
  if (typeof rec(def.external).name === 'string') return rec(def.external).name as string;
  if (def.external === true) return key;
  return `${client}_${key}`;
}

/** Secret or config references of a service, as the loader read them (short or long form). */
function references(value: unknown): Json[] {
  return Array.isArray(value) ? value.map((item) => (typeof item === 'string' ? { source: item } : rec(item))) : [];
}

/** Compares one running service with the loader's reading of it, on every field the file sets. */
async function expectFaithful(client: string, read: Json, name: string, file: Json): Promise<void> {
  const what = `${client}_${name}`;
  const spec = rec((await inspect(what)).Spec);
  const task = rec(spec.TaskTemplate);
  const container = rec(task.ContainerSpec);
  const deploy = rec(file.deploy);

  expect(String(container.Image).startsWith(image), `${what} image ${String(container.Image)}`).toBe(true);

  // Environment, env files included: exactly the loader's, nothing added or lost.
  const env = Object.entries(rec(file.environment)).map(([key, value]) => `${key}=${String(value ?? '')}`);
  expect([...((container.Env as string[] | undefined) ?? [])].sort(), `${what} environment`).toStrictEqual(env.sort());

  expectLabels(`${what} container label`, file.labels, container.Labels);
  expectLabels(`${what} service label`, deploy.labels, spec.Labels);

  const mode = rec(spec.Mode);
  expect(rec(mode.Replicated).Replicas, `${what} replicas`).toBe(Number(deploy.replicas ?? 1));

  expectUpdateConfig(`${what} update_config`, deploy.update_config, spec.UpdateConfig);
  expectUpdateConfig(`${what} rollback_config`, deploy.rollback_config, spec.RollbackConfig);

  const restart = rec(deploy.restart_policy);
  const policy = rec(task.RestartPolicy);
  if ('condition' in restart) expect(policy.Condition, `${what} restart condition`).toBe(restart.condition);
  if ('delay' in restart) expect(policy.Delay, `${what} restart delay`).toBe(nanos(restart.delay));
  if ('max_attempts' in restart)
    expect(policy.MaxAttempts, `${what} restart max_attempts`).toBe(Number(restart.max_attempts));
  if ('window' in restart) expect(policy.Window, `${what} restart window`).toBe(nanos(restart.window));

  const resources = rec(deploy.resources);
  const running = rec(task.Resources);
  expectResources(`${what} limits`, resources.limits, running.Limits);
  expectResources(`${what} reservations`, resources.reservations, running.Reservations);

  const health = rec(file.healthcheck);
  const probe = rec(container.Healthcheck);
  if (health.disable === true) expect(probe.Test, `${what} healthcheck`).toStrictEqual(['NONE']);
  if ('test' in health) {
    const test = Array.isArray(health.test) ? health.test : ['CMD-SHELL', String(health.test)];
    expect(probe.Test, `${what} healthcheck test`).toStrictEqual(test);
  }
  for (const [key, field] of [
    ['interval', 'Interval'],
    ['timeout', 'Timeout'],
    ['start_period', 'StartPeriod'],
  ] as const) {
    if (key in health) expect(probe[field], `${what} healthcheck ${key}`).toBe(nanos(health[key]));
  }
  if ('retries' in health) expect(probe.Retries, `${what} healthcheck retries`).toBe(Number(health.retries));

  const placement = rec(deploy.placement);
  const placed = rec(task.Placement);
  // The platform may add constraints (the tier); the file's are all there.
  for (const constraint of (placement.constraints as string[] | undefined) ?? [])
    expect(placed.Constraints, `${what} constraint`).toContain(constraint);
  if ('preferences' in placement) {
    const preferences = (placement.preferences as Json[]).map((item) => ({
      Spread: { SpreadDescriptor: item.spread },
    }));
    expect(placed.Preferences, `${what} preferences`).toStrictEqual(preferences);
  }
  if ('max_replicas_per_node' in placement)
    expect(placed.MaxReplicas, `${what} max_replicas_per_node`).toBe(Number(placement.max_replicas_per_node));

  for (const [key, field, convert] of [
    ['stop_grace_period', 'StopGracePeriod', nanos],
    ['stop_signal', 'StopSignal', String],
    ['read_only', 'ReadOnly', Boolean],
    ['init', 'Init', Boolean],
  ] as const) {
    if (key in file) expect(container[field], `${what} ${key}`).toBe(convert(file[key]));
  }

  const logging = rec(file.logging);
  if ('driver' in logging) {
    const driver = rec(task.LogDriver);
    expect(driver.Name, `${what} log driver`).toBe(logging.driver);
    expect(driver.Options, `${what} log options`).toStrictEqual(
      Object.fromEntries(Object.entries(rec(logging.options)).map(([key, value]) => [key, String(value)])),
    );
  }

  // Networks: each of the file's is `<client>_<name>` (or the name it declares); the platform adds the client's network.
  const networks = rec(read.networks);
  const joined = Array.isArray(file.networks)
    ? Object.fromEntries((file.networks as string[]).map((key) => [key, null]))
    : rec(file.networks);
  const attached = (task.Networks as Json[] | undefined) ?? [];
  const names = await Promise.all(
    attached.map(async (network) => docker('network', 'inspect', '--format', '{{.Name}}', String(network.Target))),
  );
  const expected = Object.keys(joined).map((key) => swarmName(client, key, networks[key]));
  expect([...names].sort(), `${what} networks`).toStrictEqual([...new Set([...expected, `${client}-net`])].sort());
  for (const [key, options] of Object.entries(joined)) {
    const aliases = (rec(options).aliases as string[] | undefined) ?? [];
    const index = names.indexOf(swarmName(client, key, networks[key]));
    for (const alias of aliases) expect(attached[index]?.Aliases, `${what} alias ${alias}`).toContain(alias);
  }

  // Secrets and configs: each at its target, from the object the file names (a config from a file: its content).
  for (const [kind, field, named] of [
    ['secrets', 'Secrets', 'SecretName'],
    ['configs', 'Configs', 'ConfigName'],
  ] as const) {
    const mounted = (container[field] as Json[] | undefined) ?? [];
    const wanted = references(file[kind]);
    expect(mounted.length, `${what} ${kind}`).toBe(wanted.length);
    for (const ref of wanted) {
      const source = String(ref.source);
      // The short form has no target: docker's stack loader takes the source key as the file name
      // (a config's relative name is mounted at the container's root).
      const target = typeof ref.target === 'string' ? ref.target : source;
      const found = mounted.find((item) => rec(item.File).Name === target);
      expect(found, `${what} ${kind} ${source} at ${target}`).toBeDefined();
      if (ref.mode !== undefined) expect(rec(found?.File).Mode, `${what} ${source} mode`).toBe(Number(ref.mode));
      const definition = rec(rec(read[kind])[source]);
      if (typeof definition.file === 'string') {
        expect(String(found?.[named]), `${what} ${source} name`).toMatch(new RegExp(`^${client}_${source}_`));
        const data = await docker('config', 'inspect', '--format', '{{json .Spec.Data}}', String(found?.[named]));
        const content = Buffer.from(JSON.parse(data) as string, 'base64').toString('utf8');
        expect(content, `${what} ${source} content`).toBe(readFileSync(definition.file, 'utf8'));
      } else {
        expect(found?.[named], `${what} ${source} name`).toBe(swarmName(client, source, definition));
      }
    }
  }
}

/** Copies a corpus stack and the files beside it into the client's stack directory; returns the stack's path. */
function placeStack(client: string, name: string): { stack: string; text: string } {
  const dir = join(corpus, name);
  const text = forClient(readFileSync(join(dir, 'stack.yml'), 'utf8'), client);
  const stack = writeStack(client, text);
  for (const entry of readdirSync(dir)) {
    if (entry !== 'stack.yml') copyFileSync(join(dir, entry), join(REPO_ROOT, dirname(stack), entry));
  }
  return { stack, text };
}

/** The external secrets the stack names exist before the deploy, as the client would have created them. */
async function createExternalSecrets(text: string): Promise<void> {
  for (const [key, definition] of Object.entries(rec(rec(parse(text)).secrets))) {
    const def = rec(definition);
    if (def.external !== true) continue;
    const name = typeof def.name === 'string' ? def.name : key;
    const value = randomBytes(12).toString('hex');
    await recordSecrets({ [name]: value });
    await local.run(['docker', 'secret', 'create', name, '-'], { stdin: value });
  }
}

// The stacks are deployed side by side (each its own client): most of a deploy is waiting for Swarm.
describe.concurrent('real-world stacks are deployed faithfully', () => {
  it.each(accepted)(
    '%s',
    async (name) => {
      const client = newClient(`rw-${name}`);
      // Each stack is removed as soon as it is checked: every running task costs the machine a
      // healthcheck exec a second, and thirteen stacks left running until the end slow every test.
      try {
        await deployedFaithfully(name, client);
      } finally {
        await removeClient(client);
      }
    },
    240_000,
  );
});

/** Deploys a corpus stack for a client, and compares what runs with what Docker's loader reads from the file. */
async function deployedFaithfully(name: string, client: string): Promise<void> {
  const { stack, text } = placeStack(client, name);
  await createExternalSecrets(text);
  const domain = header(text, 'domain');
  const routed = header(text, 'routed-service');
  const deployed = await deployStep({
    ...sshInputs(),
    client,
    'stack-file': stack,
    image,
    timeout: '3m',
    'stuck-timeout': '60s',
    ...(domain === undefined ? {} : { domain, 'service-port': '8080' }),
    ...(routed === undefined || domain === undefined ? {} : { 'routed-service': routed }),
  });
  expect(deployed.failure, deployed.log.text()).toBeUndefined();
  expect(deployed.outputs.get('status')).toBe('deployed');

  const read = await dockerReads(join(REPO_ROOT, stack));
  const services = rec(read.services);
  const running = (await docker('service', 'ls', '--filter', `name=${client}_`, '--format', '{{.Name}}'))
    .split('\n')
    .filter(Boolean)
    .sort();
  expect(running).toStrictEqual(
    Object.keys(services)
      .map((service) => `${client}_${service}`)
      .sort(),
  );
  for (const [service, file] of Object.entries(services)) await expectFaithful(client, read, service, rec(file));
}

describe('real-world stacks the policy refuses', () => {
  it.each(refused)(
    '%s',
    async (name) => {
      const client = newClient(`rw-${name.replace(/\.yml$/, '')}`);
      const text = readFileSync(join(refusedDir, name), 'utf8');
      const rules = (/^# refused: (.+)$/.exec(text.split('\n')[0] ?? '')?.[1] ?? '')
        .split(',')
        .map((rule) => rule.trim())
        .filter(Boolean);
      expect(rules.length, 'the rules are on the first line').toBeGreaterThan(0);
      const refusal = await deployStep({
        ...sshInputs(),
        client,
        'stack-file': writeStack(client, text),
        image,
        timeout: '3m',
        'stuck-timeout': '60s',
      });
      expect(refusal.failure).toBeDefined();
      expect(refusal.outputs.get('status')).not.toBe('deployed');
      const log = refusal.log.text();
      for (const rule of rules) expect(log, rule).toContain(`[${rule}]`);
      expect(await docker('service', 'ls', '--filter', `name=${client}_`, '--format', '{{.Name}}')).toBe('');
    },
    240_000,
  );
});
