import { describe, expect, it } from 'vitest';
import { action } from '../../../src/actions/swarm-deploy/main.js';
import { CONNECTION_STATE, LOCK_STATE, postState } from '../../../src/actions/swarm-deploy/post-main.js';
import { Inputs, mapInputs } from '../../../src/core/inputs.js';
import { memoryState } from '../../../src/core/run.js';
import type { Connection } from '../../../src/rollout/settings.js';
import { parseKnownHosts } from '../../../src/transport/known-hosts.js';
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
});
