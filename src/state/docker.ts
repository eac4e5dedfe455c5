/**
 * The docker commands the deploy needs, each one argv over the CommandRunner. Several services
 * are read with one command (`docker service inspect a b c`), so the number of round trips does
 * not grow with the size of the stack.
 */
import { ConnectionLostError } from '../core/errors.js';
import { LABELS, type Tenant } from '../core/tenant.js';
import { checkResult, outputLines, type CommandRunner } from '../core/exec.js';

export interface UpdateStatus {
  State?: string;
  StartedAt?: string;
  CompletedAt?: string;
  Message?: string;
}

export interface ServiceInfo {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: {
    Name: string;
    Labels?: Record<string, string>;
    TaskTemplate: {
      ContainerSpec?: {
        Image?: string;
        Env?: string[];
        Labels?: Record<string, string>;
        Secrets?: { SecretName: string }[];
      };
      ForceUpdate?: number;
      [key: string]: unknown;
    };
    Mode?: { Replicated?: { Replicas?: number }; Global?: object };
    [key: string]: unknown;
  };
  PreviousSpec?: ServiceInfo['Spec'];
  UpdateStatus?: UpdateStatus;
}

export interface TaskInfo {
  ID: string;
  ServiceID: string;
  Slot?: number;
  CreatedAt: string;
  UpdatedAt: string;
  DesiredState: string;
  Status: {
    Timestamp: string;
    State: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ExitCode?: number; ContainerID?: string };
  };
  Spec: { ContainerSpec?: { Image?: string } };
  Version?: { Index: number };
}

function parseJsonArray<T>(text: string): T[] {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === '[]') return [];
  // `docker inspect` prints one JSON array even for many objects.
  return JSON.parse(trimmed) as T[];
}

/** Inspect the named services in one command; services that do not exist are simply absent. */
export async function inspectServices(
  runner: CommandRunner,
  names: readonly string[],
): Promise<Map<string, ServiceInfo>> {
  const result = new Map<string, ServiceInfo>();
  if (names.length === 0) return result;
  const out = await runner.run(['docker', 'service', 'inspect', ...names], { allowFailure: true });
  for (const service of parseJsonArray<ServiceInfo>(out.stdout)) result.set(service.Spec.Name, service);
  return result;
}

/** The services of a stack (name → service), one `ls` and one `inspect`. */
export async function stackServices(runner: CommandRunner, stack: string): Promise<Map<string, ServiceInfo>> {
  const out = await runner.run([
    'docker',
    'service',
    'ls',
    '--filter',
    `label=com.docker.stack.namespace=${stack}`,
    '--format',
    '{{.Name}}',
  ]);
  const names = outputLines(out.stdout);
  return inspectServices(runner, names);
}

/** Every task of the given services, with states, errors and timestamps: one `ps` and one `inspect`. */
export async function serviceTasks(runner: CommandRunner, services: readonly string[]): Promise<TaskInfo[]> {
  if (services.length === 0) return [];
  const ids = await runner.run(['docker', 'service', 'ps', '--no-trunc', '--quiet', ...services], {
    allowFailure: true,
  });
  const taskIds = [...new Set(outputLines(ids.stdout))];
  if (taskIds.length === 0) return [];
  const out = await runner.run(['docker', 'inspect', '--type', 'task', ...taskIds], { allowFailure: true });
  return parseJsonArray<TaskInfo>(out.stdout);
}

/** The last lines a failed task's container wrote (best effort: the container may be gone). */
export async function taskLogs(runner: CommandRunner, taskId: string, lines = 10): Promise<string> {
  const out = await runner.run(
    ['docker', 'service', 'logs', '--raw', '--no-task-ids', '--tail', String(lines), taskId],
    {
      allowFailure: true,
      timeoutMs: 10_000,
    },
  );
  return `${out.stdout}${out.stderr}`.trim();
}

/** The client's own attachable overlay network: created when missing, never removed here. */
export async function ensureNetwork(runner: CommandRunner, tenant: Tenant): Promise<boolean> {
  const name = tenant.network;
  const found = await runner.run(['docker', 'network', 'inspect', '--format', '{{.Driver}} {{.Scope}}', name], {
    allowFailure: true,
  });
  if (found.code === 0) return false;
  const argv = [
    'docker',
    'network',
    'create',
    '--driver',
    'overlay',
    '--attachable',
    '--label',
    `${LABELS.client}=${tenant.name}`,
    name,
  ];
  const created = await runner.run(argv, { allowFailure: true });
  // Two deploys may race to create it; "already exists" is the same outcome.
  if (created.code !== 0 && !/already exists/i.test(created.stderr)) {
    checkResult(argv, created, {});
  }
  return true;
}

export interface RegistryLogin {
  server: string;
  username: string;
  password: string;
}

export interface DeployCommand {
  stack: string;
  composeYaml: string;
  prune: boolean;
  withRegistryAuth: boolean;
  /** Logged in to by the very command that deploys, in a docker config that does not outlive it. */
  registry?: RegistryLogin | undefined;
}

/**
 * The registry login and the deploy as one remote command: a private docker config directory is
 * made, the password (the first line of stdin) is given to `docker login --password-stdin`, the
 * deploy reads the rest of stdin, and the directory is removed when the shell exits, however it
 * ends (a failure, a hang-up when the job dies and the connection with it, a signal). Directories
 * an older or killed run may have left (older than ten minutes, of this user: the command lives seconds) are swept first.
 * `$1` and `$2` are the user and the registry, then the deploy's argv.
 */
export const LOGIN_AND_RUN = [
  'set -eu',
  'find "${TMPDIR:-/tmp}" -maxdepth 1 -name "swarm-deploy-auth.*" -user "$(id -u)" -mmin +10 -exec rm -rf {} + 2>/dev/null || true',
  'd=$(mktemp -d -t swarm-deploy-auth.XXXXXXXX)',
  'trap \'rm -rf "$d"\' EXIT',
  "trap 'exit 129' HUP",
  "trap 'exit 130' INT",
  "trap 'exit 141' PIPE",
  "trap 'exit 143' TERM",
  'IFS= read -r password',
  'printf \'%s\\n\' "$password" | DOCKER_CONFIG="$d" docker login --username "$1" --password-stdin "$2" >/dev/null',
  'password=',
  'shift 2',
  'status=0',
  'DOCKER_CONFIG="$d" "$@" || status=$?',
  'exit "$status"',
].join('\n');

/** A command run with a registry login that lives as long as the command (see LOGIN_AND_RUN). */
function withLogin(argv: readonly string[], stdin: string, registry: RegistryLogin | undefined) {
  if (!registry) return { argv, stdin };
  if (/[\r\n]/.test(registry.password)) throw new Error('a registry password cannot hold a line break');
  return {
    argv: ['sh', '-c', LOGIN_AND_RUN, 'sh', registry.username, registry.server, ...argv],
    stdin: `${registry.password}\n${stdin}`,
  };
}

/** `docker stack deploy -c -`: the rendered stack travels through stdin, never a file or argv. */
export async function stackDeploy(runner: CommandRunner, command: DeployCommand): Promise<string> {
  const argv = [
    'docker',
    'stack',
    'deploy',
    '--compose-file',
    '-',
    '--detach=true',
    ...(command.withRegistryAuth ? ['--with-registry-auth'] : []),
    ...(command.prune ? ['--prune'] : []),
    command.stack,
  ];
  // The same rendered stack deployed twice is one deploy (unchanged services are not updated), and
  // logging in again writes the same credentials into a new private directory, so a deploy cut off
  // by a dropped connection is simply sent again.
  const run = (words: readonly string[]) => {
    const sent = withLogin(words, command.composeYaml, command.registry);
    return runner.run(sent.argv, { stdin: sent.stdin, allowFailure: true, repeatable: true });
  };
  const out = await run(argv);
  // `docker stack deploy --detach` exists since CLI 26; an older CLI on the manager refuses the flag
  // before doing anything, and detaching is what it always did.
  if (out.code !== 0 && /unknown flag: --detach/.test(out.stderr)) {
    const legacy = argv.filter((word) => word !== '--detach=true');
    const retried = checkResult(legacy, await run(legacy), {});
    return `${retried.stdout}${retried.stderr}`.trim();
  }
  checkResult(argv, out, {});
  return `${out.stdout}${out.stderr}`.trim();
}

/**
 * Ask Swarm to roll a service back to its PreviousSpec (works from a paused update too). Never
 * repeated blindly: a second `--rollback` swaps the spec forward again. When the connection drops
 * under it, the service says whether the first one landed (its update state turns `rollback_*`).
 */
export async function serviceRollback(runner: CommandRunner, service: string): Promise<void> {
  const argv = ['docker', 'service', 'update', '--detach=true', '--rollback', service];
  try {
    await runner.run(argv, { repeatable: false });
  } catch (error) {
    if (!(error instanceof ConnectionLostError)) throw error;
    const state = (await inspectServices(runner, [service])).get(service)?.UpdateStatus?.State ?? '';
    if (state.startsWith('rollback')) return;
    await runner.run(argv, { repeatable: false });
  }
}

/** The manager's clock, so "after this deploy" is judged in the swarm's time, not the runner's. */
export async function managerTime(runner: CommandRunner): Promise<number> {
  const out = await runner.run(['date', '+%s.%N']);
  // A `date` without %N (busybox, BSD) prints `1700000000.N` or `1700000000.%N`: whole seconds then.
  const match = /^(\d+)(?:\.(\d+))?/.exec(out.stdout.trim());
  if (!match) throw new Error(`cannot read the manager's clock from ${JSON.stringify(out.stdout.slice(0, 40))}`);
  return Number(match[1]) * 1000 + Math.round(Number(`0.${match[2] ?? '0'}`) * 1000);
}
