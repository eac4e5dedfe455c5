/**
 * How the operator commands reach the managers: `--host`, `--port`, `--user`, `--ssh-key <file>`
 * and `--known-hosts <file>`, or the same from SWARM_DEPLOY_* environment variables. They become
 * the swarm-deploy action's own inputs (`host`, `port`, `user`, `ssh-key`, `known-hosts`), so the
 * CLI connects exactly as a workflow does: pinned host keys, one SSH connection per command.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigurationError, errorMessage } from '../core/errors.js';

/** parseArgs options shared by every command that talks to the cluster. */
export const connectionOptions = {
  host: { type: 'string', multiple: true },
  port: { type: 'string' },
  user: { type: 'string' },
  'ssh-key': { type: 'string' },
  'known-hosts': { type: 'string' },
} as const;

export interface ConnectionFlags {
  host?: string[] | undefined;
  port?: string | undefined;
  user?: string | undefined;
  'ssh-key'?: string | undefined;
  'known-hosts'?: string | undefined;
}

/** The environment variable standing in for each connection flag. */
export const CONNECTION_ENV = {
  host: 'SWARM_DEPLOY_HOST',
  port: 'SWARM_DEPLOY_PORT',
  user: 'SWARM_DEPLOY_USER',
  'ssh-key': 'SWARM_DEPLOY_SSH_KEY_FILE',
  'known-hosts': 'SWARM_DEPLOY_KNOWN_HOSTS_FILE',
} as const;

/** The key's passphrase is a secret: never a flag (argv is visible to every user of the machine). */
export const PASSPHRASE_ENV = 'SWARM_DEPLOY_SSH_KEY_PASSPHRASE';

export const CONNECTION_HELP = `Connection (flags, or the environment variables in brackets):
  --host <h>            a manager: host, host:port or [v6]:port; repeat or comma-separate for
                        fallbacks; "local" runs docker on this machine   [SWARM_DEPLOY_HOST]
  --port <p>            SSH port (default 22)                            [SWARM_DEPLOY_PORT]
  --user <u>            SSH user (default deploy)                        [SWARM_DEPLOY_USER]
  --ssh-key <file>      the private key file                             [SWARM_DEPLOY_SSH_KEY_FILE]
  --known-hosts <file>  the managers' pinned known_hosts lines           [SWARM_DEPLOY_KNOWN_HOSTS_FILE]
  The key's passphrase, if any, comes from SWARM_DEPLOY_SSH_KEY_PASSPHRASE.`;

/** A file the operator named, read whole; a read error names the flag to fix. */
export function readNamedFile(path: string, cwd: string, flag: string): string {
  try {
    return readFileSync(resolve(cwd, path), 'utf8');
  } catch (error: unknown) {
    throw new ConfigurationError(`cannot read ${JSON.stringify(path)}: ${errorMessage(error)}`, flag);
  }
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
  const keyFile = pick('ssh-key');
  const knownHostsFile = pick('known-hosts');
  return {
    host: pick('host'),
    port: pick('port'),
    user: pick('user'),
    'ssh-key': keyFile === undefined ? undefined : readNamedFile(keyFile, cwd, 'ssh-key'),
    'ssh-key-passphrase': env[PASSPHRASE_ENV] || undefined,
    'known-hosts': knownHostsFile === undefined ? undefined : readNamedFile(knownHostsFile, cwd, 'known-hosts'),
  };
}
