/**
 * The swarm-deploy action's inputs, read and checked in one place (the CLI builds the same
 * request from flags). Everything is validated here, before any connection is opened.
 */
import { runLocation, runUrl } from '../core/github.js';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, posix, relative, resolve } from 'node:path';
import { ConfigurationError, errorMessage } from '../core/errors.js';
import type { Inputs } from '../core/inputs.js';
import { DEFAULT_MAX_REPLICAS, type PolicySettings } from '../compose/policy.js';
import type { StackFileReader } from '../compose/stack-files.js';
import {
  checkRollbackTarget,
  deployRequest,
  rollbackRequest,
  type DeployRequest,
  type DeployStack,
  type RollbackRequest,
  type RolloutSettings,
} from './request.js';
import { parseKnownHosts } from '../transport/known-hosts.js';
import { validateImageRef } from '../core/names.js';
import { Tenant } from '../core/tenant.js';
import type { JumpHost, SshTarget } from '../transport/ssh.js';

export type LockAction = 'deploy' | 'hold' | 'release';

export interface Connection {
  /** `local` runs docker on this machine (a runner that is itself a manager); otherwise SSH. */
  local: boolean;
  ssh?: SshTarget;
}

export interface DeploySettings {
  connection: Connection;
  /** A deploy, or a rollback when `rollback-to` is given. */
  request: DeployRequest | RollbackRequest;
  lock: LockAction;
  lockMessage?: string | undefined;
}

const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A path inside the workspace: absolute paths, `../` escapes, links that lead out and NUL bytes are refused. */
export function workspaceFile(input: string, path: string, workspace: string): string {
  const real = confinedPath(input, path, workspace, workspace);
  if (real === undefined) throw new ConfigurationError(`"${path}" does not exist in the repository`, input);
  return real;
}

/**
 * A path named in the repository, read from the repository-relative directory `from`, as a
 * repository-relative path; throws when it is absolute, leads out with `../` or holds a NUL byte.
 * The one rule for paths, whether the files are read from the workspace or from a gate request.
 */
export function repositoryPath(input: string, path: string, from: string): string {
  if (path.includes('\0')) throw new ConfigurationError('contains a NUL byte', input);
  const root = '/repository';
  const rel = posix.relative(root, posix.resolve(root, from, path));
  if (posix.isAbsolute(path) || isAbsolute(path) || rel.startsWith('..') || rel === '') {
    throw new ConfigurationError(`"${path}" must be a file inside the repository (no absolute path, no ../)`, input);
  }
  return rel;
}

/**
 * The real path of a file inside the workspace, `path` read from the directory `from`, or undefined
 * when there is none; throws when the path is refused.
 */
function confinedPath(input: string, path: string, workspace: string, from: string): string | undefined {
  const full = resolve(workspace, repositoryPath(input, path, relative(workspace, from)));
  let real: string;
  try {
    real = realpathSync(full);
  } catch {
    return undefined;
  }
  if (relative(realpathSync(workspace), real).startsWith('..')) {
    throw new ConfigurationError(`"${path}" is a link that leads outside the repository`, input);
  }
  return real;
}

/** Files a stack refers to are small; a bigger one is a mistake. */
export const MAX_STACK_FILE_BYTES = 1024 * 1024;

/**
 * Reads the files a stack refers to (`env_file`, `configs.<key>.file`), relative to the stack
 * file's directory and confined to the workspace like the stack file itself.
 */
export function stackFileReader(workspace: string, stackFile: string): StackFileReader {
  const from = resolve(workspace, dirname(stackFile));
  return (path) => {
    const real = confinedPath('stack-file', path, workspace, from);
    if (real === undefined) return undefined;
    const size = statSync(real, { throwIfNoEntry: false });
    if (size !== undefined && size.isFile() && size.size > MAX_STACK_FILE_BYTES) {
      throw new ConfigurationError(`"${path}" is larger than ${MAX_STACK_FILE_BYTES / 1024} KiB`, 'stack-file');
    }
    try {
      if (size?.isFile() !== true) throw new Error('not a regular file');
      return readFileSync(real);
    } catch (error) {
      throw new ConfigurationError(`cannot read "${path}": ${errorMessage(error)}`, 'stack-file');
    }
  };
}

/**
 * Where the files named by inputs (`stack-file`, `configs`) and by the stack itself come from: the
 * repository on the runner, or the files of a gate request on a manager. Both apply the same path
 * rules (repositoryPath) and size caps.
 */
export interface RepoFiles {
  /** The text of a file an input names, relative to the repository. */
  text(input: string, path: string): string;
  /** Reads the files the stack refers to, relative to the stack file's directory. */
  stackReader(stackFile: string): StackFileReader;
}

/** The stack file's directory, repository-relative: the files it names are read from there. */
function stackDirectory(stackFile: string): string {
  return posix.dirname(repositoryPath('stack-file', stackFile, ''));
}

/**
 * The repository on this machine. With `record`, every file read is also kept under its
 * repository-relative path (the files a gate request carries).
 */
export function workspaceFiles(workspace: string, record?: Map<string, Uint8Array>): RepoFiles {
  return {
    text(input, path) {
      const file = workspaceFile(input, path, workspace);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new ConfigurationError(`cannot read ${path}: ${errorMessage(error)}`, input);
      }
      record?.set(repositoryPath(input, path, ''), Buffer.from(text, 'utf8'));
      return text;
    },
    stackReader(stackFile) {
      const read = stackFileReader(workspace, stackFile);
      if (!record) return read;
      return (path) => {
        const bytes = read(path);
        if (bytes !== undefined) record.set(repositoryPath('stack-file', path, stackDirectory(stackFile)), bytes);
        return bytes;
      };
    },
  };
}

/** The files a gate request carries, by repository-relative path, read by the same rules as the workspace. */
export function requestFiles(files: Readonly<Record<string, string>>): RepoFiles {
  const get = (key: string): string | undefined => (Object.hasOwn(files, key) ? files[key] : undefined);
  return {
    text(input, path) {
      const text = get(repositoryPath(input, path, ''));
      if (text === undefined) throw new ConfigurationError(`"${path}" does not exist in the repository`, input);
      return text;
    },
    stackReader(stackFile) {
      return (path) => {
        const text = get(repositoryPath('stack-file', path, stackDirectory(stackFile)));
        if (text === undefined) return undefined;
        const bytes = Buffer.from(text, 'utf8');
        if (bytes.byteLength > MAX_STACK_FILE_BYTES) {
          throw new ConfigurationError(`"${path}" is larger than ${MAX_STACK_FILE_BYTES / 1024} KiB`, 'stack-file');
        }
        return bytes;
      };
    },
  };
}

/** `host`, `host:port` or `[v6]:port`; the port defaults to `port`. */
function hostPort(entry: string, port: number, field: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(entry);
  if (!match) throw new ConfigurationError(`"${entry}" is not a host name or address (optionally host:port)`, field);
  const p = match[3] ? Number(match[3]) : port;
  if (p < 1 || p > 65535) throw new ConfigurationError(`port ${p} of "${entry}" is out of range`, field);
  return { host: (match[1] ?? match[2]) as string, port: p };
}

function hostList(inputs: Inputs, port: number): { host: string; port: number }[] {
  return inputs.list('host').map((entry) => hostPort(entry, port, 'host'));
}

/** A user name as OpenSSH accepts it: no spaces, no `@`, nothing that could read as an option. */
const SSH_USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * The `jump-host` input: `[user@]host[:port]` of a bastion in front of the managers, or nothing
 * (direct). Its user defaults to the managers' user, its port to 22, and it logs in with
 * `jump-ssh-key` when given, else with the managers' key.
 */
export function parseJumpHost(
  value: string | undefined,
  defaults: { user: string; privateKey?: string | undefined },
): JumpHost | undefined {
  if (value === undefined) return undefined;
  const at = value.lastIndexOf('@');
  const user = at < 0 ? defaults.user : value.slice(0, at);
  if (!SSH_USER.test(user)) {
    throw new ConfigurationError(
      `"${value}": the user before @ must be a plain user name (letters, digits, _ . -)`,
      'jump-host',
    );
  }
  if (value.slice(at + 1).includes(',') || /\s/.test(value)) {
    throw new ConfigurationError(`"${value}" must be one jump host: [user@]host[:port]`, 'jump-host');
  }
  const { host, port } = hostPort(value.slice(at + 1), 22, 'jump-host');
  return { host, port, user, privateKey: defaults.privateKey };
}

/** The secret inputs of the connection, read (and masked) before anything else. */
export interface ConnectionSecrets {
  sshKey: string | undefined;
  passphrase: string | undefined;
  /** The jump host's own key; empty means the managers' key logs in to it too. */
  jumpKey: string | undefined;
}

export function readConnectionSecrets(inputs: Inputs): ConnectionSecrets {
  return {
    sshKey: inputs.secret('ssh-key'),
    passphrase: inputs.secret('ssh-key-passphrase'),
    jumpKey: inputs.secret('jump-ssh-key'),
  };
}

/** How the CLI differs: it may sign with a running ssh-agent when no key file is given. */
export interface ConnectionOptions {
  /** An ssh-agent socket (SSH_AUTH_SOCK), used when no ssh-key is given; empty when the CLI found none. */
  agent?: string | undefined;
}

/**
 * The managers and how to reach them (`host`, `port`, `user`, `ssh-key`, `known-hosts`,
 * `jump-host`, `jump-ssh-key`). The CLI's read-only commands need only this part; a deploy reads
 * it as part of its settings.
 */
export function readConnection(
  inputs: Inputs,
  secrets: ConnectionSecrets = readConnectionSecrets(inputs),
  options: ConnectionOptions = {},
): Connection {
  const port = inputs.integer('port', 22, { min: 1, max: 65535 });
  const hosts = hostList(inputs, port);
  if (hosts.length === 0) throw new ConfigurationError('is required: one or more manager hosts, or "local"', 'host');
  const local = hosts.length === 1 && hosts[0]?.host === 'local';
  if (local) return { local };
  const agent = secrets.sshKey ? undefined : options.agent || undefined;
  if (!secrets.sshKey && !agent) {
    throw new ConfigurationError(
      options.agent === undefined
        ? 'is required to reach the managers over SSH'
        : 'is required to reach the managers over SSH (or a running ssh-agent: SSH_AUTH_SOCK)',
      'ssh-key',
    );
  }
  const knownHosts = inputs.optional('known-hosts');
  if (!knownHosts) {
    throw new ConfigurationError(
      "is required: host keys are pinned, never trusted on first use. Give the managers' (and the jump host's) known_hosts lines (ssh-keyscan, checked against ssh-keygen -lf on the host) or SHA256: fingerprints",
      'known-hosts',
    );
  }
  const user = inputs.string('user', 'deploy');
  const jump = parseJumpHost(inputs.optional('jump-host'), { user, privateKey: secrets.jumpKey });
  return {
    local,
    ssh: {
      hosts,
      user,
      privateKey: secrets.sshKey,
      passphrase: secrets.passphrase,
      ...(agent ? { agent } : {}),
      ...(jump ? { jump } : {}),
      knownHosts: parseKnownHosts(knownHosts),
    },
  };
}

export function githubContext(env: NodeJS.ProcessEnv = process.env): {
  gitSha?: string;
  runUrl?: string;
  actor?: string;
} {
  const url = runUrl(runLocation(env));
  let gitSha = env.GITHUB_SHA;
  // On pull_request events GITHUB_SHA is the merge commit; the head commit is what was built.
  if (env.GITHUB_EVENT_NAME?.startsWith('pull_request') && env.GITHUB_EVENT_PATH) {
    try {
      const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as {
        pull_request?: { head?: { sha?: string } };
      };
      gitSha = event.pull_request?.head?.sha ?? gitSha;
    } catch {
      // keep GITHUB_SHA
    }
  }
  return {
    ...(gitSha ? { gitSha } : {}),
    ...(url ? { runUrl: url } : {}),
    ...(env.GITHUB_ACTOR ? { actor: env.GITHUB_ACTOR } : {}),
  };
}

/** The secret-bearing inputs, read (and masked) before any other input. */
interface SecretInputs {
  connection: ConnectionSecrets;
  registryPassword: string | undefined;
  secrets: Map<string, string>;
}

function readSecretInputs(inputs: Inputs): SecretInputs {
  return {
    connection: readConnectionSecrets(inputs),
    registryPassword: inputs.secret('registry-password'),
    secrets: inputs.keyValues('secrets', {
      secret: true,
      keyPattern: SECRET_NAME,
      keyDescription: 'a secret name: letters, digits, _ . -',
    }),
  };
}

function readRegistry(inputs: Inputs, password: string | undefined): RolloutSettings['registry'] {
  const registry = inputs.optional('registry');
  const username = inputs.optional('registry-username');
  if (registry && (!username || !password)) {
    throw new ConfigurationError('registry-username and registry-password are required with registry', 'registry');
  }
  // It becomes a `docker login` argument: a value starting with `-` would read as an option.
  if (
    registry &&
    !/^[A-Za-z0-9][A-Za-z0-9.-]*(:\d+)?(\/[A-Za-z0-9._/-]*)?$/.test(registry.replace(/^https?:\/\//, ''))
  ) {
    throw new ConfigurationError(`"${registry}" is not a registry host`, 'registry');
  }
  return registry && username && password ? { server: registry, username, password } : undefined;
}

/** The rollout timeout; a dropped connection gets as long as the rollout itself to come back, and at most a minute. */
function readTimeout(inputs: Inputs, connection: Connection | undefined): number {
  const timeoutMs = inputs.duration('timeout', '10m', { min: 10_000, max: 6 * 3_600_000 });
  if (connection?.ssh) connection.ssh.reconnectWithinMs = Math.min(60_000, timeoutMs);
  return timeoutMs;
}

/** The cluster policy settings: what a stack is judged by, a deploy's or a recorded one deployed again. */
function readPolicy(inputs: Inputs): PolicySettings {
  const tier = inputs.optional('tier');
  if (tier !== undefined && tier !== 'standard' && tier !== 'enterprise') {
    throw new ConfigurationError(`expected standard or enterprise, got "${tier}"`, 'tier');
  }
  const servicePort = inputs.optional('service-port');
  return {
    mode: inputs.choice('policy', ['enforce', 'warn'] as const, 'enforce'),
    allowPublishedPorts: inputs.boolean('allow-published-ports', false),
    maxReplicas: inputs.integer('max-replicas', DEFAULT_MAX_REPLICAS, { min: 1, max: 1000 }),
    defaultCpus: inputs.string('default-cpus', '0.5'),
    defaultMemory: inputs.string('default-memory', '512M'),
    tier,
    domains: inputs.list('domain'),
    port: servicePort === undefined ? undefined : inputs.integer('service-port', 0, { min: 1, max: 65535 }),
    routedService: inputs.optional('routed-service'),
    entrypoint: inputs.optional('entrypoint'),
    certResolver: inputs.optional('cert-resolver'),
  };
}

/** The settings every rollout shares, after the ones read with the stack (registry, timeout). */
function readRolloutSettings(
  inputs: Inputs,
  env: NodeJS.ProcessEnv,
  read: { tenant: Tenant; registry: RolloutSettings['registry']; timeoutMs: number },
): RolloutSettings {
  const context = githubContext(env);
  const settings: RolloutSettings = {
    tenant: read.tenant,
    registry: read.registry,
    timeoutMs: read.timeoutMs,
    autoRollback: inputs.boolean('auto-rollback', true),
    dryRun: inputs.boolean('dry-run', false),
    prune: inputs.boolean('prune', false),
    keepReleases: inputs.integer('keep-releases', 10, { min: 2, max: 100 }),
    gitSha: inputs.optional('git-sha') ?? context.gitSha,
    runUrl: context.runUrl,
    actor: context.actor,
    lockWaitMs: inputs.duration('lock-timeout', '10m', { min: 0, max: 6 * 3_600_000 }),
    lockExpiryMs: inputs.optional('lock-expiry') ? inputs.duration('lock-expiry', '30m', { min: 1000 }) : undefined,
    stuckMs: inputs.duration('stuck-timeout', '60s', { min: 1000 }),
    policy: readPolicy(inputs),
  };
  if (settings.gitSha !== undefined && !/^[0-9a-f]{7,40}$/.test(settings.gitSha)) {
    throw new ConfigurationError('expected a hexadecimal commit sha', 'git-sha');
  }
  return settings;
}

/**
 * The settings of a rollback or a scale, whose stack is a recorded release: the connection, the
 * client, and what every rollout shares. The CLI's rollback and scale read these.
 */
export function readRestoreSettings(
  inputs: Inputs,
  env: NodeJS.ProcessEnv = process.env,
  options: ConnectionOptions = {},
): { connection: Connection; settings: RolloutSettings } {
  const secret = readSecretInputs(inputs);
  const tenant = Tenant.parse(inputs.required('client'), 'client');
  const connection = readConnection(inputs, secret.connection, options);
  const registry = readRegistry(inputs, secret.registryPassword);
  const timeoutMs = readTimeout(inputs, connection);
  return { connection, settings: readRolloutSettings(inputs, env, { tenant, registry, timeoutMs }) };
}

/** What a deploy step does, read from the inputs: everything but how to reach the managers. */
export type DeployJob = Omit<DeploySettings, 'connection'>;

/** The deploy's settings, the connection included, with the files read from the workspace (or `files`). */
export function readDeploySettings(
  inputs: Inputs,
  env: NodeJS.ProcessEnv = process.env,
  files?: RepoFiles,
  options: ConnectionOptions = {},
): DeploySettings {
  return readDeploy(inputs, env, files, options) as DeploySettings;
}

/** The deploy's settings without a connection (the gate on a manager reaches no other machine). */
export function readDeployJob(inputs: Inputs, env: NodeJS.ProcessEnv, files: RepoFiles): DeployJob {
  return readDeploy(inputs, env, files, undefined);
}

function readDeploy(
  inputs: Inputs,
  env: NodeJS.ProcessEnv,
  given: RepoFiles | undefined,
  /** How to connect, or undefined for no connection (the gate on a manager reaches no other machine). */
  connectionOptions: ConnectionOptions | undefined,
): DeployJob & { connection?: Connection } {
  // Secrets first: masked before anything else can be logged.
  const secret = readSecretInputs(inputs);

  const tenant = Tenant.parse(inputs.required('client'), 'client');
  const files = given ?? workspaceFiles(env.GITHUB_WORKSPACE ?? process.cwd());
  const lock = inputs.choice('lock', ['deploy', 'hold', 'release'] as const, 'deploy');
  const rollbackTo = inputs.optional('rollback-to');
  if (rollbackTo !== undefined) checkRollbackTarget(rollbackTo);
  const image = inputs.optional('image');
  if (image !== undefined) validateImageRef(image, 'image');

  const connection = connectionOptions ? readConnection(inputs, secret.connection, connectionOptions) : undefined;

  const stackFile = inputs.string('stack-file', 'stack.yml');
  const stackText = !rollbackTo && lock === 'deploy' ? files.text('stack-file', stackFile) : '';
  const configs = new Map<string, string>();
  for (const [name, path] of inputs.keyValues('configs', {
    keyPattern: SECRET_NAME,
    keyDescription: 'a config name: letters, digits, _ . -',
  })) {
    configs.set(name, files.text('configs', path.trim()));
  }

  const registry = readRegistry(inputs, secret.registryPassword);
  const timeoutMs = readTimeout(inputs, connection);
  const envValues = inputs.keyValues('env');
  const stack: DeployStack = {
    stackFile,
    stackText,
    image,
    env: envValues,
    secrets: secret.secrets,
    configs,
    readFile: files.stackReader(stackFile),
  };
  const settings = readRolloutSettings(inputs, env, { tenant, registry, timeoutMs });
  return {
    ...(connection ? { connection } : {}),
    request: rollbackTo === undefined ? deployRequest(settings, stack) : rollbackRequest(settings, rollbackTo),
    lock,
    lockMessage: inputs.optional('lock-message'),
  };
}
