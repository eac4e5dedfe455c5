import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { action } from '../../../src/actions/swarm-deploy/main.js';
import { FINGERPRINT_LABEL, stackFingerprint } from '../../../src/compose/fingerprint.js';
import type { CommandResult, CommandRunner, RunOptions } from '../../../src/core/exec.js';
import { Inputs, mapInputs } from '../../../src/core/inputs.js';
import { runGate } from '../../../src/gate/gate.js';
import { memoryRegistry, type TenantEntry } from '../../../src/gate/registry.js';
import { prepareStack } from '../../../src/rollout/deploy.js';
import { readDeploySettings } from '../../../src/rollout/settings.js';
import { GATE_COMMAND } from '../../../src/steps/gate-client.js';
import { encodeEvent, parseRequest, type GateEvent, type GateRequest } from '../../../src/transport/gate-protocol.js';
import { runActionInProcess } from '../../support/action-harness.js';
import { scratch, writeFile } from '../../support/cli.js';
import { FakeClock } from '../../support/clock.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';
import { service } from '../../support/swarm-fixtures.js';

const PROBLEMS = fileURLToPath(new URL('../../fixtures/stack/problems.yml', import.meta.url));
const PINNED = `registry.example.com/shop/web:v2@sha256:${'b'.repeat(64)}`;
const SHOP: TenantEntry = {
  client: 'shop',
  domains: ['shop.example.com'],
  tier: 'standard',
  policy: 'enforce',
  maxReplicas: 10,
  publishPorts: false,
  managerPlacement: false,
  registries: ['registry.example.com'],
  keys: [],
  subjects: [],
};

/**
 * The SSH side of `via: gate` in one process: the one command the action sends is served by the
 * real gate, whose docker commands go to `docker` (a scripted runner). Every request is kept.
 */
class GateOverSsh implements CommandRunner {
  readonly description = 'gate';
  readonly requests: GateRequest[] = [];
  readonly options: RunOptions[] = [];
  constructor(
    private readonly docker: CommandRunner,
    /** Replaces the gate's answer (a stream cut short). */
    private readonly answer?: (lines: string[]) => string[],
  ) {}
  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    expect(argv).toEqual(GATE_COMMAND);
    this.options.push(options);
    this.requests.push(parseRequest(options.stdin ?? ''));
    const lines: string[] = [];
    const code = await runGate({
      client: 'shop',
      stdin: options.stdin ?? '',
      write: (line) => lines.push(line.trimEnd()),
      registry: memoryRegistry([SHOP]),
      runner: this.docker,
      clock: new FakeClock(),
    });
    for (const line of this.answer ? this.answer(lines) : lines) options.onStdoutLine?.(line);
    return { code, stdout: '', stderr: '' };
  }
  stream(): never {
    throw new Error('the gate call is one command');
  }
  async close(): Promise<void> {}
}

describe('swarm-deploy via: gate', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function workspace(): string {
    const dir = scratch();
    dirs.push(dir);
    return dir;
  }

  /** The same step, direct (`via: docker`) and through the gate, each with its own scripted swarm. */
  async function both(dir: string, given: Record<string, string>, docker: () => ScriptedRunner) {
    const run = (via: string, connect: () => CommandRunner) =>
      runActionInProcess({
        action: '.',
        workspace: dir,
        with: { client: 'shop', host: 'local', 'stack-file': 'stack.yml', ...given, via },
        run: () => action.main({ deps: { connect, clock: new FakeClock() } }),
      });
    const directDocker = docker();
    const direct = await run('docker', () => directDocker);
    const gateDocker = docker();
    const gate = new GateOverSsh(gateDocker);
    const through = await run('gate', () => gate);
    return { direct, through, gate, directDocker, gateDocker };
  }

  it('renders a refused stack as the direct step does: the same annotations, outputs and failure', async () => {
    const dir = workspace();
    copyFileSync(PROBLEMS, join(dir, 'stack.yml'));
    const { direct, through, gate, gateDocker } = await both(
      dir,
      { image: 'registry.example.com/shop/web:1', env: 'REPLICAS=three' },
      () => new ScriptedRunner(),
    );
    expect(gateDocker.calls).toEqual([]);
    expect(through.outcome).toBe('failure');
    expect(through.annotations).toEqual(direct.annotations);
    expect(through.outputs).toEqual(direct.outputs);
    expect(through.annotations.filter((a) => a.file === 'stack.yml')).toHaveLength(11);
    // One exec, with everything on stdin, never repeated on a dropped connection.
    expect(gate.options).toHaveLength(1);
    expect(gate.options[0]?.repeatable).toBe(false);
    expect(Object.keys(gate.requests[0]?.files ?? {})).toEqual(['stack.yml']);
    expect(gate.requests[0]?.inputs).not.toHaveProperty('host');
  });

  it('renders a deploy as the direct step does: the same outputs, summary and log', async () => {
    const dir = workspace();
    writeFile(
      dir,
      'stack.yml',
      'services:\n  web:\n    image: ${IMAGE}\n    env_file: web.env\n    deploy:\n      replicas: 2\n',
    );
    writeFile(dir, 'web.env', 'GREETING=hello\n');
    const given = { image: PINNED, tier: 'standard', secrets: 'api_key=s3cret-value' };
    const inputs = new Inputs(mapInputs({ client: 'shop', host: 'local', 'stack-file': 'stack.yml', ...given }));
    const { request } = readDeploySettings(inputs, { GITHUB_WORKSPACE: dir });
    if (request.kind !== 'deploy') throw new Error('expected a deploy');
    const yaml = prepareStack(request, { id: 'earlier', time: 'earlier' }).rendered.yaml;
    // What the last deploy of this very stack left: the step answers "unchanged" from one read.
    const running = service('shop_web', {
      image: PINNED,
      replicas: 2,
      labels: { [FINGERPRINT_LABEL]: stackFingerprint(yaml), 'swarm-deploy.release': '20261123-034512-a1b' },
    });
    const docker = () =>
      new ScriptedRunner()
        .on(['docker', 'service', 'inspect', 'shop_web'], () => ({ stdout: JSON.stringify([running]) }))
        .on(['docker', 'config', 'inspect', 'sdl.shop'], () => ({
          code: 1,
          stderr: 'Error: no such config: sdl.shop',
        }));
    const { direct, through, gate, directDocker, gateDocker } = await both(dir, given, docker);
    expect(direct.outcome).toBe('success');
    expect(through.outcome).toBe('success');
    expect(through.outputs).toEqual(direct.outputs);
    expect(through.outputs.status).toBe('deployed');
    expect(through.summary).toBe(direct.summary);
    expect(through.summary).not.toBe('');
    expect(through.annotations).toEqual(direct.annotations);
    expect(through.log).toEqual(direct.log);
    expect(gateDocker.commands()).toEqual(directDocker.commands());
    // The secret was masked on the runner, and by the gate's mask line too.
    expect(through.masks).toContain('s3cret-value');
    expect(through.leaks).toEqual([]);
    // The file the stack refers to travelled with the request.
    expect(gate.requests[0]?.files).toEqual({
      'stack.yml': expect.stringContaining('env_file: web.env'),
      'web.env': 'GREETING=hello\n',
    });
  });

  it('fails when the answer stops before its verdict, whatever it said before', async () => {
    const dir = workspace();
    writeFile(dir, 'stack.yml', 'services:\n  web:\n    image: ${IMAGE}\n');
    const cut = (lines: string[]) => [
      ...lines.filter((line) => !line.startsWith('{"t":"end"')),
      encodeEvent({ t: 'output', name: 'status', value: 'deployed' } satisfies GateEvent).trimEnd(),
    ];
    const gate = new GateOverSsh(new ScriptedRunner(), cut);
    const result = await runActionInProcess({
      action: '.',
      workspace: dir,
      with: { client: 'shop', host: 'local', image: PINNED, via: 'gate', 'max-replicas': '200' },
      run: () => action.main({ deps: { connect: () => gate } }),
    });
    expect(result.outcome).toBe('failure');
    expect(result.annotations.at(-1)?.message).toBe('The deploy failed: the gate ended without a verdict');
  });

  it('turns a configuration verdict into the input error the direct step gives', async () => {
    const dir = workspace();
    writeFile(dir, 'stack.yml', 'services:\n  web:\n    image: ${IMAGE}\n');
    const gate = new GateOverSsh(new ScriptedRunner());
    const result = await runActionInProcess({
      action: '.',
      workspace: dir,
      with: {
        client: 'shop',
        host: 'local',
        image: PINNED,
        via: 'gate',
        domain: 'other.example.com',
        'service-port': '80',
      },
      run: () => action.main({ deps: { connect: () => gate } }),
    });
    expect(result.outcome).toBe('failure');
    expect(result.annotations.at(-1)?.message).toMatch(
      /^Configuration error: Input "domain": "other.example.com" is not a domain of shop \(its domains: shop.example.com\)/,
    );
    expect(result.outputs.status).toBe('failed');
  });

  it('releases a lock the gate took through the gate, in the post step', async () => {
    const docker = new ScriptedRunner()
      .on(['docker', 'config', 'inspect', 'lockid7'], () => ({ stdout: 'sdl.shop\n' }))
      .on(['docker', 'config', 'rm', 'lockid7'], () => ({ stdout: 'lockid7\n' }));
    const gate = new GateOverSsh(docker);
    const result = await runActionInProcess({
      action: '.',
      workspace: workspace(),
      phase: 'post',
      state: {
        connection: JSON.stringify({ local: true, via: 'gate' }),
        lock: JSON.stringify({ id: 'lockid7', name: 'sdl.shop' }),
      },
      with: { client: 'shop', host: 'local', via: 'gate' },
      run: () => action.post({ deps: { connect: () => gate } }),
    });
    expect(result.outcome).toBe('success');
    expect(gate.requests.map((r) => [r.op, r.lock])).toEqual([['release-lock', { id: 'lockid7', name: 'sdl.shop' }]]);
    expect(docker.commands()).toContain('docker config rm lockid7');
  });
});
