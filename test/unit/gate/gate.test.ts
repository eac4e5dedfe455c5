import { describe, expect, it } from 'vitest';
import { parseGateArguments, runGate } from '../../../src/gate/gate.js';
import { memoryRegistry, type TenantEntry, type TenantRegistry } from '../../../src/gate/registry.js';
import { parseEvent, type GateEvent } from '../../../src/transport/gate-protocol.js';
import { FakeClock } from '../../support/clock.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';

const ACME: TenantEntry = {
  client: 'acme',
  domains: ['api.acme.example.com'],
  tier: 'standard',
  policy: 'enforce',
  maxReplicas: 3,
  publishPorts: false,
  managerPlacement: false,
  registries: ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', 'registry.example.com'],
  keys: [],
  subjects: [],
};

const STACK = 'services:\n  web:\n    image: ${IMAGE}\n    deploy:\n      replicas: 2\n';
const IMAGE = `registry.example.com/acme/web@sha256:${'a'.repeat(64)}`;

interface Asked {
  inputs?: Record<string, string>;
  files?: Record<string, string>;
  op?: string;
  lock?: { id: string; name: string } | null;
}

/** One gate run for the key of `client`, with a runner that refuses every command nobody planned. */
async function gate(
  client: string,
  asked: Asked | string,
  options: { registry?: TenantRegistry; runner?: ScriptedRunner } = {},
) {
  const runner = options.runner ?? new ScriptedRunner();
  const lines: string[] = [];
  const stdin =
    typeof asked === 'string'
      ? asked
      : JSON.stringify({
          v: 1,
          op: asked.op ?? 'deploy',
          inputs: asked.inputs ?? { client, image: IMAGE },
          files: asked.files ?? { 'stack.yml': STACK },
          context: {},
          lock: asked.lock ?? null,
        });
  const code = await runGate({
    client,
    stdin,
    write: (line) => lines.push(line),
    registry: options.registry ?? memoryRegistry([ACME]),
    runner,
    clock: new FakeClock(),
  });
  const events: GateEvent[] = lines.map((line) => parseEvent(line));
  const end = events.at(-1);
  if (end?.t !== 'end') throw new Error('the gate did not end with a verdict');
  return { code, events, end, runner, lines };
}

/** A refusal of `field` with `message`, before any command ran. */
async function refused(client: string, asked: Asked, field: string, message: string | RegExp) {
  const { code, end, runner } = await gate(client, asked);
  expect(runner.calls).toEqual([]);
  expect(code).toBe(1);
  expect(end.configuration?.field).toBe(field);
  expect(end.configuration?.message).toMatch(message);
  expect(end.failure).toMatch(new RegExp(`^Configuration error: Input "${field}": `));
}

describe('the gate: tenant binding, decided before anything runs', () => {
  it("refuses a request for another client than the key's", async () => {
    await refused(
      'acme',
      { inputs: { client: 'globex', image: IMAGE } },
      'client',
      'this key deploys acme only, not "globex"',
    );
    await refused('acme', { inputs: { image: IMAGE } }, 'client', 'this key deploys acme only');
  });

  it.each([
    ['host', 'globex-manager.example'],
    ['port', '2222'],
    ['user', 'root'],
    ['ssh-key', 'a key'],
    ['ssh-key-passphrase', 'x'],
    ['known-hosts', 'SHA256:abc'],
    ['via', 'docker'],
  ])('refuses the connection input %s', async (name, value) => {
    await refused('acme', { inputs: { client: 'acme', [name]: value } }, name, /^chooses how to reach the managers/);
  });

  it('refuses an input swarm-deploy does not have', async () => {
    await refused('acme', { inputs: { client: 'acme', command: 'sh' } }, 'command', 'is not an input of swarm-deploy');
  });

  it('refuses a client the platform has not registered', async () => {
    await refused('initech', { inputs: { client: 'initech' } }, 'client', 'initech is not registered on this platform');
  });

  it.each([
    [
      'policy',
      'warn',
      /^the platform enforces the policy for acme; a deploy may make the policy stricter, never weaker/,
    ],
    ['allow-published-ports', 'true', /^acme may not publish ports on the nodes/],
    ['tier', 'enterprise', /^acme is a standard client; the tier is the platform's to set/],
    ['domain', 'shop.globex.example.com', /shop\.globex\.example\.com.* is not a domain of acme/],
  ])('refuses a policy input that asks for more than the registry allows: %s', async (name, value, message) => {
    const inputs = { client: 'acme', image: IMAGE, [name]: value, 'service-port': '8080' };
    await refused('acme', { inputs }, name, message);
  });

  it('refuses a stack whose images come from a registry the entry does not list, the image input or the file', async () => {
    const foreign = `ghcr.io/globex/web@sha256:${'c'.repeat(64)}`;
    await refused(
      'acme',
      { inputs: { client: 'acme', image: foreign } },
      'image',
      /comes from ghcr\.io, which is not a registry acme may pull from/,
    );
    const sidecar = `${STACK}  side:\n    image: docker.io/library/redis:7\n`;
    await refused(
      'acme',
      { files: { 'stack.yml': sidecar } },
      'image',
      /comes from docker\.io, which is not a registry acme may pull from/,
    );
  });

  it('refuses a registry the entry does not list', async () => {
    const inputs = {
      client: 'acme',
      image: IMAGE,
      registry: 'registry.globex.example.com',
      'registry-username': 'u',
      'registry-password': 'p',
    };
    await refused('acme', { inputs }, 'registry', /^"registry.globex.example.com" is not a registry of acme/);
  });

  it("judges the stack itself, by the registry's limits when the request names none", async () => {
    const stack = 'services:\n  web:\n    image: ${IMAGE}\n    deploy:\n      replicas: 5\n';
    const { end, runner, events } = await gate('acme', { files: { 'stack.yml': stack } });
    expect(runner.calls).toEqual([]);
    expect(end.failure).toMatch(/replicas/);
    const errors = events.filter((e) => e.t === 'log' && e.level === 'error');
    expect(errors).toContainEqual(
      expect.objectContaining({ properties: expect.objectContaining({ file: 'stack.yml', startLine: 5 }) }),
    );
  });

  it("applies the registry's replica limit when the request sends a higher one (the action's default)", async () => {
    const stack = 'services:\n  web:\n    image: ${IMAGE}\n    deploy:\n      replicas: 5\n';
    const { end, runner } = await gate('acme', {
      inputs: { client: 'acme', image: IMAGE, 'max-replicas': '10' },
      files: { 'stack.yml': stack },
    });
    expect(runner.calls).toEqual([]);
    // Refused by the stack's judging (the replicas rule at the entry's limit), not as an input.
    expect(end.configuration?.field).toBe('stack-file');
    expect(end.failure).toMatch(/\[replicas\] service "web" asks for "5" replicas; the platform allows at most 3/);
  });

  it('lets a request make the policy stricter than the entry', async () => {
    // The entry would allow 3 replicas; the request asks for at most 1, and the stack wants 2.
    const { end, runner } = await gate('acme', { inputs: { client: 'acme', image: IMAGE, 'max-replicas': '1' } });
    expect(runner.calls).toEqual([]);
    expect(end.failure).toMatch(/replicas/);
  });

  it('masks the secrets of the request before anything else is said', async () => {
    const { events, end } = await gate('acme', {
      inputs: { client: 'acme', secrets: 'api_key=hunter2-secret', tier: 'enterprise' },
    });
    expect(events[0]).toEqual({ t: 'mask', value: 'hunter2-secret' });
    expect(end.configuration?.field).toBe('tier');
  });

  it('refuses a request that does not read, with a protocol error and nothing run', async () => {
    const { code, end, runner } = await gate('acme', '{"v":1,"op":"deploy","inputs":{},"shell":"id"}');
    expect(code).toBe(2);
    expect(runner.calls).toEqual([]);
    expect(end).toEqual({
      t: 'end',
      failure: 'The gate refused the request: the request has an unknown field "shell"',
      configuration: null,
    });
  });
});

describe('the gate: releasing a lock', () => {
  it("releases the key's own lock, checked by the name Swarm holds for its ID", async () => {
    const runner = new ScriptedRunner()
      .on(['docker', 'config', 'inspect', 'lockid1'], () => ({ stdout: 'sdl.acme\n' }))
      .on(['docker', 'config', 'rm', 'lockid1'], () => ({ stdout: 'lockid1\n' }));
    const { end } = await gate(
      'acme',
      { op: 'release-lock', inputs: {}, files: {}, lock: { id: 'lockid1', name: 'sdl.acme' } },
      { runner },
    );
    expect(end.failure).toBeNull();
    expect(runner.commands()).toEqual([
      'docker config inspect --format {{.Spec.Name}} lockid1',
      'docker config rm lockid1',
    ]);
  });

  it("refuses another client's lock by name, and by the ID of another client's config", async () => {
    const named = await gate('acme', {
      op: 'release-lock',
      inputs: {},
      files: {},
      lock: { id: 'x1', name: 'sdl.globex' },
    });
    expect(named.runner.calls).toEqual([]);
    expect(named.end.failure).toBe('Configuration error: this key may release the deploy lock of acme only');

    const runner = new ScriptedRunner().on(['docker', 'config', 'inspect', 'globexlock'], () => ({
      stdout: 'sdl.globex\n',
    }));
    const disguised = await gate(
      'acme',
      { op: 'release-lock', inputs: {}, files: {}, lock: { id: 'globexlock', name: 'sdl.acme' } },
      { runner },
    );
    expect(runner.commands()).toEqual(['docker config inspect --format {{.Spec.Name}} globexlock']);
    expect(disguised.end.failure).toBe('Configuration error: config globexlock is not the deploy lock of acme');
  });
});

describe("the gate's forced command", () => {
  it('takes the client from its own arguments only', () => {
    expect(parseGateArguments(['--client', 'acme'])).toEqual({ client: 'acme' });
    expect(() => parseGateArguments(['--client', 'acme', '--tenants', '/srv/t'])).toThrow(/^usage/);
    expect(() => parseGateArguments([])).toThrow(/^usage: gate --client/);
    expect(() => parseGateArguments(['--client'])).toThrow(/^usage/);
    expect(() => parseGateArguments(['--client', 'acme', 'docker', 'ps'])).toThrow(/^usage/);
  });
});
