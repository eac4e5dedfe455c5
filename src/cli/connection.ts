/**
 * How the operator commands reach the managers: `--host`, `--port`, `--user`, `--ssh-key <file>`,
 * `--known-hosts <file>`, `--jump <[user@]host[:port]>` and `--jump-ssh-key <file>`, or the same
 * from SWARM_DEPLOY_* environment variables. They become the swarm-deploy action's own inputs
 * (`host`, `port`, `user`, `ssh-key`, `known-hosts`, `jump-host`, `jump-ssh-key`), so the CLI
 * connects exactly as a workflow does: pinned host keys on every hop, one SSH connection per
 * command. Two defaults differ, as an operator's ssh does: without a key file the running
 * ssh-agent signs, and without a known-hosts file `~/.ssh/known_hosts` pins the hosts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigurationError, errorMessage } from '../core/errors.js';

/** parseArgs options shared by every command that talks to the cluster. */
export const connectionOptions = {
  host: { type: 'string', multiple: true },
  port: { type: 'string' },
  user: { type: 'string' },
  'ssh-key': { type: 'string' },
  'known-hosts': { type: 'string' },
  jump: { type: 'string' },
  'jump-ssh-key': { type: 'string' },
} as const;

export interface ConnectionFlags {
  host?: string[] | undefined;
  port?: string | undefined;
  user?: string | undefined;
  'ssh-key'?: string | undefined;
  'known-hosts'?: string | undefined;
  jump?: string | undefined;
  'jump-ssh-key'?: string | undefined;
}

/** The environment variable standing in for each connection flag. */
export const CONNECTION_ENV = {
  host: 'SWARM_DEPLOY_HOST',
  port: 'SWARM_DEPLOY_PORT',
  user: 'SWARM_DEPLOY_USER',
  'ssh-key': 'SWARM_DEPLOY_SSH_KEY_FILE',
  'known-hosts': 'SWARM_DEPLOY_KNOWN_HOSTS_FILE',
  jump: 'SWARM_DEPLOY_JUMP',
  'jump-ssh-key': 'SWARM_DEPLOY_JUMP_SSH_KEY_FILE',
} as const;

/** The action input behind each connection flag whose name differs from it. */
export const CONNECTION_INPUT: Readonly<Partial<Record<keyof typeof CONNECTION_ENV, string>>> = { jump: 'jump-host' };

/** The key's passphrase is a secret: never a flag (argv is visible to every user of the machine). */
export const PASSPHRASE_ENV = 'SWARM_DEPLOY_SSH_KEY_PASSPHRASE';

export const CONNECTION_HELP = `Connection (flags, or the environment variables in brackets):
  --host <h>            a manager: host, host:port or [v6]:port; repeat or comma-separate for
                        fallbacks; "local" runs docker on this machine   [SWARM_DEPLOY_HOST]
  --port <p>            SSH port (default 22)                            [SWARM_DEPLOY_PORT]
  --user <u>            SSH user (default deploy)                        [SWARM_DEPLOY_USER]
  --ssh-key <file>      the private key file (default: the running ssh-agent, SSH_AUTH_SOCK)
                                                                         [SWARM_DEPLOY_SSH_KEY_FILE]
  --known-hosts <file>  the pinned known_hosts lines of the managers and the jump host
                        (default ~/.ssh/known_hosts; hashed entries work; a host absent
                        from it is refused)                              [SWARM_DEPLOY_KNOWN_HOSTS_FILE]
  --jump <[user@]h[:p]> reach the managers through this jump host (bastion)
                                                                         [SWARM_DEPLOY_JUMP]
  --jump-ssh-key <file> the jump host's own key (default: the --ssh-key key or the agent)
                                                                         [SWARM_DEPLOY_JUMP_SSH_KEY_FILE]
  The key's passphrase, if any, comes from SWARM_DEPLOY_SSH_KEY_PASSPHRASE.`;

/** A file the operator named, read whole; a read error names the flag to fix. */
export function readNamedFile(path: string, cwd: string, flag: string): string {
  try {
    return readFileSync(resolve(cwd, path), 'utf8');
  } catch (error: unknown) {
    throw new ConfigurationError(`cannot read ${JSON.stringify(path)}: ${errorMessage(error)}`, flag);
  }
}

/** The operator's own known_hosts file, when there is one (OpenSSH's default, `~/.ssh/known_hosts`). */
export function userKnownHostsFile(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.HOME) return undefined;
  const file = join(env.HOME, '.ssh', 'known_hosts');
  return existsSync(file) ? file : undefined;
}

/**
 * The action inputs for the connection: flags first, then the environment. Key and known_hosts
 * files are read here, so their contents reach the same validation (and masking) as in a workflow.
 */
export function connectionInputs(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Record<string, string | undefined> {
  const pick = (name: keyof typeof CONNECTION_ENV): string | undefined => {
    const flag = flags[name];
    const value = Array.isArray(flag) ? flag.join(',') : flag;
    return value !== undefined && value !== '' ? value : env[CONNECTION_ENV[name]] || undefined;
  };
  const file = (name: 'ssh-key' | 'known-hosts' | 'jump-ssh-key', fallback?: string): string | undefined => {
    const path = pick(name) ?? fallback;
    return path === undefined ? undefined : readNamedFile(path, cwd, name);
  };
  return {
    host: pick('host'),
    port: pick('port'),
    user: pick('user'),
    'ssh-key': file('ssh-key'),
    'ssh-key-passphrase': env[PASSPHRASE_ENV] || undefined,
    'known-hosts': file('known-hosts', userKnownHostsFile(env)),
    'jump-host': pick('jump'),
    'jump-ssh-key': file('jump-ssh-key'),
  };
}

/**
 * The ssh-agent the CLI signs with when no key file is given (the action always has a key); an
 * empty socket when none runs, so a missing key says an agent would do too.
 */
export function agentSocket(env: NodeJS.ProcessEnv): { agent: string } {
  return { agent: env.SSH_AUTH_SOCK ?? '' };
}
