import type { StepContext } from '../../core/action.js';
import { ConfigurationError } from '../../core/errors.js';
import type { CommandRunner } from '../../core/exec.js';
import type { Log } from '../../core/log.js';
import type { RunResult, StepState } from '../../core/run.js';
import { readConnectionSecrets, type Connection } from '../../rollout/settings.js';
import { releaseLock } from '../../state/lock.js';
import type { JumpHost, SshTarget } from '../../transport/ssh.js';
import { callGate, gateReleaseRequest } from '../../steps/gate-client.js';

/** State keys the main step saves for the post step. */
export const LOCK_STATE = 'lock';
export const CONNECTION_STATE = 'connection';

export interface SwarmDeploySeams {
  /** Opens the runner that reaches the managers (SSH, or this machine). */
  connect: (connection: Connection, log: Log) => CommandRunner;
}

/**
 * How to reach the managers, without the SSH keys and the passphrase: those never go into the step
 * state. `via: gate` when the main step spoke to the gate (the lock is then released through it).
 */
type SavedConnection = {
  local: boolean;
  ssh?: Omit<SshTarget, 'privateKey' | 'passphrase' | 'reconnectWithinMs' | 'jump'> & {
    jump?: Omit<JumpHost, 'privateKey'>;
  };
  via?: 'gate';
};

/** The saved connection, as the state holds it. */
export function savedConnection(connection: Connection, via?: 'gate'): string {
  let saved: SavedConnection = { local: connection.local };
  if (connection.ssh) {
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { privateKey, passphrase, reconnectWithinMs, jump, ...rest } = connection.ssh;
    saved = {
      ...saved,
      ssh: { ...rest, ...(jump ? { jump: { host: jump.host, port: jump.port, user: jump.user } } : {}) },
    };
  }
  return JSON.stringify(via ? { ...saved, via } : saved);
}

interface SavedLock {
  id: string;
  name: string;
}

/**
 * What the post step needs to release a lock the main step took: the lock and the connection. The
 * step state is a file on the runner's disk, so the SSH key and its passphrase stay out of it; the
 * runner passes the step's inputs to the post step again, and the key is read from there.
 */
export function postState(connection: Connection, lock: SavedLock): Record<string, string> {
  return {
    [CONNECTION_STATE]: savedConnection(connection),
    [LOCK_STATE]: JSON.stringify({ id: lock.id, name: lock.name }),
  };
}

function readPostState(state: StepState): { connection: SavedConnection; lock: SavedLock } | undefined {
  const lock = state.get(LOCK_STATE);
  const connection = state.get(CONNECTION_STATE);
  if (!lock || !connection) return undefined;
  return { lock: JSON.parse(lock) as SavedLock, connection: JSON.parse(connection) as SavedConnection };
}

/**
 * The post step (post-if: always()): releases the client's deploy lock when the main step did not
 * (cancelled, killed, crashed). When the main step finished, there is nothing to do and no
 * connection is opened. Everything comes from the state the main step saved; of the inputs only
 * the SSH keys (and the passphrase) are read, so a setting or stack file that no longer reads well
 * cannot keep the lock held.
 */
export async function releaseLeftLock({
  inputs,
  log,
  outputs,
  state,
  deps,
}: StepContext<SwarmDeploySeams>): Promise<RunResult> {
  const saved = readPostState(state);
  if (!saved) return {};
  const { connection, lock } = saved;
  let ssh: SshTarget | undefined;
  if (connection.ssh) {
    const secrets = readConnectionSecrets(inputs);
    if (!secrets.sshKey) throw new ConfigurationError('is required to reach the managers over SSH', 'ssh-key');
    const { jump, ...rest } = connection.ssh;
    ssh = {
      ...rest,
      privateKey: secrets.sshKey,
      passphrase: secrets.passphrase,
      ...(jump ? { jump: { ...jump, privateKey: secrets.jumpKey } } : {}),
    };
  }
  const runner = deps.connect(ssh ? { local: connection.local, ssh } : { local: connection.local }, log);
  try {
    log.info(`The deploy step did not finish: releasing ${lock.name}`);
    if (connection.via === 'gate') {
      return await callGate(runner, gateReleaseRequest(lock, deps.env), { log, outputs, state });
    }
    await releaseLock(runner, log, lock);
  } finally {
    await runner.close();
  }
  return {};
}
