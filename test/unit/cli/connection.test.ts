import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { statusCommand } from '../../../src/cli/status.js';
import type { Connection } from '../../../src/rollout/settings.js';
import { recordingIo, scratch, writeFile } from '../../support/cli.js';

/*
 * How the CLI reaches the managers when the operator names less than a workflow does: the running
 * ssh-agent without a key file, ~/.ssh/known_hosts without a known-hosts file, and the jump host
 * from --jump. The connection is read as `status` reads it; the transport is replaced by one that
 * records the connection and opens nothing.
 */

const KEY_A = 'AAAAC3NzaC1lZDI1NTE5AAAAICFotjHUIhtdXXQ5MR0Rc4h1yXxfeGAgDpKQkZ//2W+4';

/** A home directory with `.ssh/known_hosts` holding `lines`. */
function home(lines: string): string {
  const dir = scratch();
  mkdirSync(join(dir, '.ssh'));
  writeFile(join(dir, '.ssh'), 'known_hosts', lines);
  return dir;
}

async function connectionOf(
  argv: string[],
  env: NodeJS.ProcessEnv,
  cwd = scratch(),
): Promise<{ connection: Connection | undefined; code: number; stderr: string }> {
  let connection: Connection | undefined;
  const status = statusCommand({
    env,
    open: (c) => {
      connection = c;
      throw new Error('recorded; nothing opened');
    },
  });
  const io = recordingIo(cwd);
  const code = await main(['status', ...argv], io, { status });
  return { connection, code, stderr: io.stderr.join('\n') };
}

describe('the CLI signs with the ssh-agent when no key file is given', () => {
  const knownHosts = `m1 ssh-ed25519 ${KEY_A}\n`;

  it('uses SSH_AUTH_SOCK, and no key', async () => {
    const { connection } = await connectionOf(['--host', 'm1'], {
      HOME: home(knownHosts),
      SSH_AUTH_SOCK: '/run/user/1000/agent.sock',
    });
    expect(connection?.ssh).toMatchObject({ agent: '/run/user/1000/agent.sock', privateKey: undefined });
  });

  it('prefers a key file to the agent', async () => {
    const cwd = scratch();
    writeFile(cwd, 'id', 'PRIVATE KEY\n');
    const { connection } = await connectionOf(
      ['--host', 'm1', '--ssh-key', 'id'],
      { HOME: home(knownHosts), SSH_AUTH_SOCK: '/run/agent.sock' },
      cwd,
    );
    expect(connection?.ssh?.privateKey).toBe('PRIVATE KEY');
    expect(connection?.ssh?.agent).toBeUndefined();
  });

  it('without a key file and without an agent, names both ways', async () => {
    const { connection, code, stderr } = await connectionOf(['--host', 'm1'], { HOME: home(knownHosts) });
    expect(connection).toBeUndefined();
    expect(code).toBe(2);
    expect(stderr).toMatch(/--ssh-key \(or SWARM_DEPLOY_SSH_KEY_FILE\): is required .*ssh-agent: SSH_AUTH_SOCK/);
  });
});

describe("the CLI pins hosts with the operator's ~/.ssh/known_hosts when no known-hosts file is given", () => {
  const env = (dir: string): NodeJS.ProcessEnv => ({ HOME: dir, SSH_AUTH_SOCK: '/run/agent.sock' });

  it('reads ~/.ssh/known_hosts', async () => {
    const { connection } = await connectionOf(['--host', 'm1'], env(home(`m1 ssh-ed25519 ${KEY_A}\n`)));
    expect(connection?.ssh?.knownHosts).toHaveLength(1);
  });

  it('prefers --known-hosts', async () => {
    const cwd = scratch();
    writeFile(cwd, 'pins', `m1 ssh-ed25519 ${KEY_A}\nm2 ssh-ed25519 ${KEY_A}\n`);
    const { connection } = await connectionOf(
      ['--host', 'm1', '--known-hosts', 'pins'],
      env(home(`m1 ssh-ed25519 ${KEY_A}\n`)),
      cwd,
    );
    expect(connection?.ssh?.knownHosts).toHaveLength(2);
  });

  it('without either, refuses: never trusted on first use', async () => {
    const { connection, code, stderr } = await connectionOf(['--host', 'm1'], env(scratch()));
    expect(connection).toBeUndefined();
    expect(code).toBe(2);
    expect(stderr).toMatch(/--known-hosts \(or SWARM_DEPLOY_KNOWN_HOSTS_FILE\): is required: host keys are pinned/);
  });
});

describe('the CLI reaches the managers through --jump', () => {
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    HOME: home(`m1 ssh-ed25519 ${KEY_A}\n`),
    SSH_AUTH_SOCK: '/run/agent.sock',
    ...extra,
  });

  it('from the flag: the bastion logs in with the agent too', async () => {
    const { connection } = await connectionOf(['--host', 'm1', '--jump', 'ops@bastion:2200'], env());
    expect(connection?.ssh?.jump).toEqual({ host: 'bastion', port: 2200, user: 'ops', privateKey: undefined });
    expect(connection?.ssh?.agent).toBe('/run/agent.sock');
  });

  it('from SWARM_DEPLOY_JUMP, with its own key file from SWARM_DEPLOY_JUMP_SSH_KEY_FILE', async () => {
    const cwd = scratch();
    const key = writeFile(cwd, 'bastion-key', 'BASTION KEY\n');
    const { connection } = await connectionOf(
      ['--host', 'm1', '--user', 'deployer'],
      env({ SWARM_DEPLOY_JUMP: 'bastion', SWARM_DEPLOY_JUMP_SSH_KEY_FILE: key }),
      cwd,
    );
    expect(connection?.ssh?.jump).toEqual({ host: 'bastion', port: 22, user: 'deployer', privateKey: 'BASTION KEY' });
  });

  it('names the flag of a bad jump host', async () => {
    const { code, stderr } = await connectionOf(['--host', 'm1', '--jump', 'b1 b2'], env());
    expect(code).toBe(2);
    expect(stderr).toMatch(/--jump \(or SWARM_DEPLOY_JUMP\): "b1 b2" must be one jump host/);
  });
});
