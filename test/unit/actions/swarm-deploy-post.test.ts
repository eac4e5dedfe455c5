import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { action } from '../../../src/actions/swarm-deploy/main.js';
import { CONNECTION_STATE, LOCK_STATE, postState } from '../../../src/actions/swarm-deploy/post-main.js';
import { Inputs, mapInputs } from '../../../src/core/inputs.js';
import { memoryState } from '../../../src/core/run.js';
import type { Connection } from '../../../src/rollout/settings.js';
import { parseKnownHosts } from '../../../src/transport/known-hosts.js';
import { scratch, writeFile } from '../../support/cli.js';
import { MemoryLog } from '../../support/memory-log.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nprivate-key-body\n-----END OPENSSH PRIVATE KEY-----';
const PASSPHRASE = 'passphrase-of-the-key';
const FINGERPRINT = 'SHA256:' + 'A'.repeat(43);
const LOCK = { id: 'cfg-lock-1', name: 'sdl.shop' };

/** What the main step reads from the connection inputs (the key included) when it deploys over SSH. */
const sshConnection: Connection = {
  local: false,
  ssh: {
    hosts: [{ host: 'manager-1.example', port: 2222 }],
    user: 'deploy',
    privateKey: KEY,
    passphrase: PASSPHRASE,
    knownHosts: parseKnownHosts(FINGERPRINT),
    reconnectWithinMs: 10_000,
  },
};

/**
 * The post step with the state given and these inputs. None of the deploy's settings is valid
 * here: the stack file is gone, the client and the SSH port do not parse, the host names another
 * machine. The post step must not read them.
 */
async function post(saved: Record<string, string>, inputs: Record<string, string> = {}) {
  const log = new MemoryLog();
  const state = memoryState();
  for (const [name, value] of Object.entries(saved)) state.save(name, value);
  const runner = new ScriptedRunner().on(['docker', 'config', 'rm', 'cfg-lock-1'], () => ({ stdout: 'cfg-lock-1\n' }));
  const opened: Connection[] = [];
  const result = await action.post({
    inputs: new Inputs(
      mapInputs({
        client: 'Not A Client!',
        'stack-file': 'no/such/stack.yml',
        port: 'twenty-two',
        host: 'elsewhere.example',
        timeout: 'soon',
        ...inputs,
      }),
      (value) => log.mask(value),
    ),
    hooks: { setOutput: () => undefined, setFailed: () => undefined, state },
    deps: {
      log,
      connect: (connection) => {
        opened.push(connection);
        return runner;
      },
    },
  });
  return { result, log, runner, opened };
}

describe('the swarm-deploy post step', () => {
  it('keeps the SSH key and its passphrase out of the saved state', () => {
    const saved = postState(sshConnection, LOCK);
    expect(Object.keys(saved).sort()).toEqual([CONNECTION_STATE, LOCK_STATE].sort());
    const text = Object.values(saved).join('\n');
    expect(text).not.toContain('private-key-body');
    expect(text).not.toContain(PASSPHRASE);
    expect(JSON.parse(saved[LOCK_STATE] ?? '')).toEqual(LOCK);
  });

  it('releases the lock from its saved state alone, though the settings and the stack file no longer read', async () => {
    const { result, log, runner, opened } = await post(postState(sshConnection, LOCK), {
      'ssh-key': KEY,
      'ssh-key-passphrase': PASSPHRASE,
    });
    expect(result.failure).toBeUndefined();
    expect(runner.commands()).toEqual(['docker config rm cfg-lock-1']);
    expect(log.lines).toContain('The deploy step did not finish: releasing sdl.shop');
    // The managers, user and pinned keys come from the state; the key and passphrase from the inputs, masked.
    expect(opened).toEqual([
      {
        local: false,
        ssh: {
          hosts: [{ host: 'manager-1.example', port: 2222 }],
          user: 'deploy',
          knownHosts: sshConnection.ssh?.knownHosts,
          privateKey: KEY,
          passphrase: PASSPHRASE,
        },
      },
    ]);
    expect(log.masked).toContain(KEY);
  });

  it('releases the lock on this machine when the main step ran docker locally, with no SSH key', async () => {
    const { result, runner, opened } = await post(postState({ local: true }, LOCK));
    expect(result.failure).toBeUndefined();
    expect(opened).toEqual([{ local: true }]);
    expect(runner.commands()).toEqual(['docker config rm cfg-lock-1']);
  });

  it('fails naming the ssh-key input when the key is no longer given', async () => {
    const { result, opened } = await post(postState(sshConnection, LOCK));
    expect(result.failure).toBe('Configuration error: Input "ssh-key": is required to reach the managers over SSH');
    expect(opened).toEqual([]);
  });

  it('opens no connection when the main step finished (lock cleared) or saved nothing', async () => {
    for (const saved of [{ ...postState(sshConnection, LOCK), [LOCK_STATE]: '' }, {}]) {
      const { result, opened, log } = await post(saved);
      expect(result.failure).toBeUndefined();
      expect(opened).toEqual([]);
      expect(log.lines).toEqual([]);
    }
  });

  it('gets what it needs from the main step: a main step cut short after the lock saves it, the post step frees it', async () => {
    const dir = scratch();
    writeFile(dir, 'stack.yml', 'services:\n  web:\n    image: ${IMAGE}\n');
    const given = {
      client: 'shop',
      'stack-file': 'stack.yml',
      // By tag: the deploy goes straight to the lock.
      image: 'registry.example.com/shop/web:v2',
      host: 'manager-1.example:2222',
      'ssh-key': KEY,
      'ssh-key-passphrase': PASSPHRASE,
      'known-hosts': FINGERPRINT,
    };
    const state = memoryState();
    const hooks = { setOutput: () => undefined, setFailed: () => undefined, state };
    // The lock is taken, then the step dies (the next command fails as a killed step would stop).
    const main = new ScriptedRunner().on(['docker', 'config', 'create'], () => ({ stdout: 'cfg-lock-1\n' }));
    const ran = await action.main({
      inputs: new Inputs(mapInputs(given)),
      hooks,
      deps: { log: new MemoryLog(), env: { GITHUB_WORKSPACE: dir }, connect: () => main },
    });
    expect(ran.failure).toBeDefined();
    expect(main.commands().filter((command) => command.startsWith('docker '))[0]).toMatch(
      /^docker config create .*sdl\.shop/,
    );
    expect(JSON.parse(state.get(LOCK_STATE))).toEqual(LOCK);
    expect([...state.values.values()].join('\n')).not.toContain('private-key-body');
    expect([...state.values.values()].join('\n')).not.toContain(PASSPHRASE);

    // By the end of the job the stack file is gone; the post step does not look for it.
    rmSync(dir, { recursive: true, force: true });
    const { result, runner, opened } = await post(Object.fromEntries(state.values), {
      'ssh-key': KEY,
      'ssh-key-passphrase': PASSPHRASE,
    });
    expect(result.failure).toBeUndefined();
    expect(opened.map((c) => c.ssh?.hosts)).toEqual([[{ host: 'manager-1.example', port: 2222 }]]);
    expect(runner.commands()).toEqual(['docker config rm cfg-lock-1']);
  });
});
