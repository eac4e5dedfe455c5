import type { Log } from '../core/log.js';
import { LocalRunner, type CommandRunner } from '../core/exec.js';
import { SshRunner, type SshTarget } from './ssh.js';

/** The runner for a step: SSH to the managers, or this machine when it is itself a manager. */
export function openRunner(connection: { local: boolean; ssh?: SshTarget | undefined }, log: Log): CommandRunner {
  if (connection.local || !connection.ssh) return new LocalRunner();
  return new SshRunner(connection.ssh, log);
}
