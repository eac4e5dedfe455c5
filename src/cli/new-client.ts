import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigurationError, errorMessage } from '../core/errors.js';
import { showValue, validateDomain } from '../core/names.js';
import { Tenant } from '../core/tenant.js';
import { validatePort } from '../compose/traefik.js';
import { LocalRunner } from '../core/exec.js';
import { publicKeyFromFile } from '../state/tenants.js';
import { commandLine } from '../transport/quote.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, type CliIo, type Command } from './command.js';
import { asCliError } from './operator.js';

/**
 * `new-client`: onboarding a client is this command plus adding the repository's secrets. It writes
 * the client's stack file and the two workflows that call the pack's reusable workflows, and prints
 * the one-time cluster and repository steps. The generators are pure (they return file contents);
 * writing is separate and refuses to overwrite unless asked.
 */

/**
 * The repository the pack is published from. The organisation is a placeholder that is replaced by
 * the publishing organisation's name when the pack is published (the same name as in the reusable
 * workflows' `uses:` lines); the major tag moves with every release.
 */
export const PACK_REPOSITORY = 'swarm-deploy-org/swarm-deploy';
export const PACK_REF = 'v1';

export const RUNTIMES = ['node', 'python'] as const;
export type Runtime = (typeof RUNTIMES)[number];
export const TIERS = ['standard', 'enterprise'] as const;
export type Tier = (typeof TIERS)[number];

export const DEFAULT_MANAGER_HOST = 'swarm-manager.example.com';
export const DEFAULT_AWS_REGION = 'us-east-1';

/** A validated description of a new client; every value is safe to write into YAML unquoted. */
export interface ClientSpec {
  name: string;
  service: string;
  domains: string[];
  runtime: Runtime;
  tier: Tier;
  managerHosts: string[];
  awsRegion: string;
  servicePort: number;
}

export interface ClientSpecInput {
  name: string;
  domains: readonly string[];
  service?: string | undefined;
  runtime?: string | undefined;
  tier?: string | undefined;
  managerHosts?: readonly string[] | undefined;
  awsRegion?: string | undefined;
  servicePort?: string | number | undefined;
}

export interface GeneratedFile {
  /** Relative to the client repository's root, with '/' separators. */
  path: string;
  content: string;
}

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,29}$/;
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6 = /^[0-9A-Fa-f:]{2,39}$/;
const AWS_REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

function choice<T extends string>(value: string, allowed: readonly T[], input: string): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined)
    throw new ConfigurationError(`${showValue(value)} is not one of ${allowed.join(', ')}`, input);
  return found;
}

/** Validates the command's values; each error names the option to fix. */
export function resolveClientSpec(input: ClientSpecInput): ClientSpec {
  const name = Tenant.parse(input.name, 'name').name;
  if (input.domains.length === 0) throw new ConfigurationError('at least one --domain is required', 'domain');
  const domains = [...new Set(input.domains.map((d) => validateDomain(d.trim(), 'domain')))];
  const service = input.service ?? 'api';
  if (!SERVICE_NAME.test(service)) {
    throw new ConfigurationError(
      `${showValue(service)} must be 1 to 30 lowercase letters, digits or '-', starting with a letter`,
      'service',
    );
  }
  const managerHosts = input.managerHosts?.length ? [...input.managerHosts] : [DEFAULT_MANAGER_HOST];
  for (const host of managerHosts) {
    if (!HOST_NAME.test(host) && !IPV6.test(host)) {
      throw new ConfigurationError(`${showValue(host)} is not a host name or an IP address`, 'manager-host');
    }
  }
  const awsRegion = input.awsRegion ?? DEFAULT_AWS_REGION;
  if (!AWS_REGION.test(awsRegion)) {
    throw new ConfigurationError(`${showValue(awsRegion)} is not an AWS region name (like eu-west-1)`, 'aws-region');
  }
  const portText = String(input.servicePort ?? 8080);
  if (!/^\d{1,5}$/.test(portText))
    throw new ConfigurationError(`${showValue(portText)} is not a TCP port`, 'service-port');
  return {
    name,
    service,
    domains,
    runtime: choice(input.runtime ?? 'node', RUNTIMES, 'runtime'),
    tier: choice(input.tier ?? 'standard', TIERS, 'tier'),
    managerHosts,
    awsRegion,
    servicePort: validatePort(Number(portText), 'service-port'),
  };
}

/** A `key: value` line, or a `key: |` block when there are several values (one per line). */
function linesValue(key: string, values: readonly string[], indent: string): string {
  if (values.length === 1) return `${indent}${key}: ${values[0]}`;
  return [`${indent}${key}: |`, ...values.map((v) => `${indent}  ${v}`)].join('\n');
}

const RUNTIME_ENV: Record<Runtime, string[]> = {
  node: ['NODE_ENV: production', "PORT: '{port}'"],
  python: ["PYTHONUNBUFFERED: '1'", "PORT: '{port}'"],
};

export function renderStackFile(spec: ClientSpec): string {
  const env = RUNTIME_ENV[spec.runtime].map((line) => `      ${line.replace('{port}', String(spec.servicePort))}`);
  return `# ${spec.name}'s stack on the shared Swarm. swarm-deploy replaces \${IMAGE} with the pushed digest,
# puts every service on the client's own network (${Tenant.recorded(spec.name).network}), adds the Traefik labels for the
# domain(s), the placement for the ${spec.tier} tier, and safe update settings where none are set here.
version: '3.8'

services:
  ${spec.service}:
    image: \${IMAGE}
    environment:
${env.join('\n')}
    # The service drains on SIGTERM; Swarm waits this long before SIGKILL.
    stop_grace_period: 15s
    deploy:
      replicas: \${REPLICAS:-3}
      update_config:
        parallelism: 1
        order: start-first
        failure_action: rollback
        monitor: 40s
      rollback_config:
        parallelism: 1
        order: start-first
      restart_policy:
        condition: on-failure
        max_attempts: 3
      resources:
        limits:
          cpus: '0.50'
          memory: 256M
        reservations:
          memory: 64M
`;
}

/** The `with:` lines both workflows pass to the reusable workflow. */
function sharedWith(spec: ClientSpec): string {
  return [
    `      client: ${spec.name}`,
    `      service: ${spec.service}`,
    linesValue('domain', spec.domains, '      '),
    `      aws-region: ${spec.awsRegion}`,
    linesValue('manager-host', spec.managerHosts, '      '),
    `      tier: ${spec.tier}`,
    `      service-port: ${spec.servicePort}`,
  ].join('\n');
}

const SECRET_LINES = ['AWS_ROLE_ARN', 'SWARM_SSH_KEY', 'SWARM_KNOWN_HOSTS', 'DISCORD_WEBHOOK'].map(
  (s) => `      ${s}: \${{ secrets.${s} }}`,
);

export function renderDeployWorkflow(spec: ClientSpec): string {
  return `# Ship ${spec.name} on every push to main: build, push to ECR, rolling deploy on the shared Swarm,
# verify, roll back on a failed verification, report in Discord.
name: deploy

on:
  push:
    branches: [main]

permissions:
  id-token: write
  contents: read
  deployments: write

jobs:
  deploy:
    uses: ${PACK_REPOSITORY}/.github/workflows/deploy.yml@${PACK_REF}
    permissions:
      id-token: write
      contents: read
      deployments: write
    with:
${sharedWith(spec)}
    secrets:
${[...SECRET_LINES, '      APP_SECRETS: ${{ secrets.APP_SECRETS }}'].join('\n')}
`;
}

export function renderRollbackWorkflow(spec: ClientSpec): string {
  return `# Put an earlier release of ${spec.name} back, from the Actions tab ("Run workflow").
name: rollback

on:
  workflow_dispatch:
    inputs:
      version:
        description: The release to restore; a release id, a git sha, an image tag, or "previous".
        type: string
        required: true
        default: previous

permissions:
  id-token: write
  contents: read
  deployments: write

jobs:
  rollback:
    uses: ${PACK_REPOSITORY}/.github/workflows/rollback.yml@${PACK_REF}
    permissions:
      id-token: write
      contents: read
      deployments: write
    with:
      version: \${{ inputs.version }}
${sharedWith(spec)}
    secrets:
${SECRET_LINES.join('\n')}
`;
}

export const STACK_FILE = 'stack.yml';
export const DEPLOY_WORKFLOW = '.github/workflows/deploy.yml';
export const ROLLBACK_WORKFLOW = '.github/workflows/rollback.yml';

export function clientFiles(spec: ClientSpec): GeneratedFile[] {
  return [
    { path: STACK_FILE, content: renderStackFile(spec) },
    { path: DEPLOY_WORKFLOW, content: renderDeployWorkflow(spec) },
    { path: ROLLBACK_WORKFLOW, content: renderRollbackWorkflow(spec) },
  ];
}

const EXAMPLE: Record<Runtime, string> = {
  node: 'examples/client-a (Node.js)',
  python: 'examples/client-b (Python FastAPI)',
};

/** The client's deploy key pair, as new-client wrote it. */
export interface DeployKey {
  /** The private key file (mode 0600): the repository secret SWARM_SSH_KEY, never printed. */
  privateFile: string;
  /** The public key file, `<private>.pub`. */
  publicFile: string;
}

/** The command the platform team runs to register the client in the tenant registry. */
export function tenantSetCommand(spec: ClientSpec, publicKeyFile: string): string {
  return commandLine([
    'swarm-deploy',
    'platform',
    'tenant',
    'set',
    spec.name,
    ...spec.domains.flatMap((domain) => ['--domain', domain]),
    '--tier',
    spec.tier,
    '--registry',
    `<aws-account-id>.dkr.ecr.${spec.awsRegion}.amazonaws.com`,
    '--key-file',
    publicKeyFile,
    '--subject',
    'repo:<owner>/<repo>:environment:production',
  ]);
}

/** What a person still has to do once, with this client's names filled in. */
export function oneTimeSteps(spec: ClientSpec, key?: DeployKey): string {
  const net = Tenant.recorded(spec.name).network;
  const sshKey = key
    ? [
        `  SWARM_SSH_KEY      the content of ${key.privateFile}, the client's own deploy key`,
        `                     (gh secret set SWARM_SSH_KEY < ${commandLine([key.privateFile])}); then delete the file`,
      ]
    : ["  SWARM_SSH_KEY      the private key of the client's own deploy key pair"];
  // Each step is its lines; commands are indented by two more spaces than the text.
  const steps: string[][] = [
    [
      'Register the client in the tenant registry (the platform team, with the admin key; fill in the',
      "ECR account and the client repository's owner/name):",
      `  ${tenantSetCommand(spec, key?.publicFile ?? '<deploy-key>.pub')}`,
    ],
    [
      'Add these secrets to the repository (Settings → Secrets and variables → Actions):',
      '  AWS_ROLE_ARN       the IAM role assumed through GitHub OIDC (ECR push and pull); its trust policy',
      '                     must allow repo:<owner>/<repo>:ref:refs/heads/main (the build job) and',
      '                     repo:<owner>/<repo>:environment:production (the deploy and rollback jobs)',
      ...sshKey,
      `  SWARM_KNOWN_HOSTS  the managers' pinned host keys: ssh-keyscan -t ed25519 ${spec.managerHosts.join(' ')}`,
      "  DISCORD_WEBHOOK    the webhook URL of the team's Discord channel",
      "  APP_SECRETS        (optional) the service's secrets as name=value lines, read in the container",
      '                     at /run/secrets/<name>',
    ],
    ["Create the client's network on a manager:", `  docker network create --driver overlay --attachable ${net}`],
    [
      `Attach Traefik to it: list ${net} in the platform's traefik.yml (under the service's networks,`,
      'and as `external: true` under the top-level networks), then redeploy the platform stack:',
      '  docker stack deploy -c traefik.yml traefik',
    ],
    spec.tier === 'enterprise'
      ? [
          `Label the nodes reserved for enterprise clients (${spec.name} runs only there):`,
          '  docker node update --label-add tier=enterprise <node>',
        ]
      : ['Nothing to label: standard clients run on any node not labelled tier=enterprise.'],
    [`Point DNS for ${spec.domains.join(', ')} at the load balancer in front of Traefik.`],
    [
      'Give the repository a Dockerfile whose image answers GET /health with 200 and its version (JSON',
      '"version", an X-Version header or a plain body), takes the commit from the build argument GIT_SHA,',
      `and listens on port ${spec.servicePort}. See ${EXAMPLE[spec.runtime]}.`,
    ],
  ];
  if (spec.managerHosts.includes(DEFAULT_MANAGER_HOST)) {
    steps.push([
      `Replace ${DEFAULT_MANAGER_HOST} in both workflows with the manager's address (or pass --manager-host).`,
    ]);
  }
  return [
    `One-time steps for ${spec.name}:`,
    '',
    ...steps.map((lines, i) => `${String(i + 1).padStart(2)}. ${lines.join('\n    ')}`),
    '',
    'Then push to main: the deploy workflow builds, pushes, deploys, verifies and reports.',
  ].join('\n');
}

/** Which of the files already exist under `dir`. */
export function existingFiles(dir: string, files: readonly GeneratedFile[]): string[] {
  return files.filter((f) => existsSync(join(dir, f.path))).map((f) => f.path);
}

/** Where the deploy key goes unless --key-file says: the operator's ~/.ssh, never the client repository. */
export function defaultKeyFile(name: string, env: NodeJS.ProcessEnv = process.env): string {
  // HOME first, as OpenSSH reads it (and as os.homedir does, except in a worker thread of its own env).
  return join(env.HOME || homedir(), '.ssh', `swarm-deploy-${name}`);
}

/**
 * Creates the client's ed25519 key pair with OpenSSH's ssh-keygen (the format the action's
 * `ssh-key` input and every SSH client read), without a passphrase: it becomes a repository
 * secret. The private key file is made mode 0600; its content is never read here, let alone
 * printed. Returns the public key line.
 */
export async function createDeployKey(spec: ClientSpec, key: DeployKey): Promise<string> {
  mkdirSync(dirname(key.privateFile), { recursive: true, mode: 0o700 });
  const runner = new LocalRunner();
  const argv = [
    'ssh-keygen',
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    `swarm-deploy:${spec.name}`,
    '-f',
    key.privateFile,
  ];
  try {
    await runner.run(argv);
  } catch (error: unknown) {
    throw new Error(
      `could not create the deploy key with ssh-keygen (${errorMessage(error)}); install OpenSSH's client, or pass --no-key and register a key of your own`,
    );
  } finally {
    await runner.close();
  }
  chmodSync(key.privateFile, 0o600);
  return publicKeyFromFile(readFileSync(key.publicFile, 'utf8'), 'key-file');
}

/** Writes every file under `dir`, creating folders; the caller checked for existing files. */
export function writeClientFiles(dir: string, files: readonly GeneratedFile[]): void {
  for (const file of files) {
    const target = join(dir, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
  }
}

const USAGE = `Usage: swarm-deploy new-client <name> --domain <domain> [options]

Writes a client's stack file and deploy/rollback workflows, creates the client's deploy key pair
(the private key is written to a file of mode 0600 and never printed), and prints the one-time
steps: the tenant registry entry to write with the public key, and the repository secrets.

Options:
  --domain <d>          a domain routed to the service (repeat for more; required)
  --runtime <r>         node | python (default node)
  --tier <t>            standard | enterprise (default standard)
  --service <s>         the service's name in the stack (default api)
  --service-port <p>    the port the service listens on (default 8080)
  --manager-host <h>    a Swarm manager reached over SSH (repeat for more)
  --aws-region <r>      the AWS region of the ECR registry (default ${DEFAULT_AWS_REGION})
  --dir <path>          the client repository's root (default: the current directory)
  --force               overwrite files that already exist (never a key file)
  --key-file <path>     where to write the client's deploy key (ed25519, made with ssh-keygen; the
                        public key beside it as <path>.pub); outside the client repository
                        (default ~/.ssh/swarm-deploy-<name>)
  --no-key              create no key pair (the client's key is registered by other means)
  -h, --help            show this help`;

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      domain: { type: 'string', multiple: true },
      runtime: { type: 'string' },
      tier: { type: 'string' },
      service: { type: 'string' },
      'service-port': { type: 'string' },
      'manager-host': { type: 'string', multiple: true },
      'aws-region': { type: 'string' },
      dir: { type: 'string' },
      force: { type: 'boolean', default: false },
      'key-file': { type: 'string' },
      'no-key': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(USAGE);
    return EXIT_OK;
  }
  if (positionals.length !== 1 || positionals[0] === undefined) {
    throw new UsageError(positionals.length === 0 ? 'the client name is missing' : 'only one client name is allowed');
  }
  if (values.domain === undefined) throw new UsageError('at least one --domain is required');

  const spec = resolveSpec({
    name: positionals[0],
    domains: values.domain,
    service: values.service,
    runtime: values.runtime,
    tier: values.tier,
    managerHosts: values['manager-host'],
    awsRegion: values['aws-region'],
    servicePort: values['service-port'],
  });
  const dir = resolve(io.cwd, values.dir ?? '.');
  const files = clientFiles(spec);
  const existing = existingFiles(dir, files);
  if (existing.length > 0 && !values.force) {
    io.err(
      `swarm-deploy new-client: not overwriting ${existing.join(', ')} in ${dir}; pass --force to replace ${existing.length === 1 ? 'it' : 'them'}.`,
    );
    return EXIT_FAILURE;
  }
  if (values['no-key'] && values['key-file'] !== undefined)
    throw new UsageError('--key-file and --no-key exclude each other');
  let key: DeployKey | undefined;
  if (!values['no-key']) {
    const privateFile = resolve(io.cwd, values['key-file'] ?? defaultKeyFile(spec.name));
    key = { privateFile, publicFile: `${privateFile}.pub` };
    const inRepository = relative(dir, privateFile);
    if (!inRepository.startsWith('..') && !isAbsolute(inRepository)) {
      throw asCliError(
        new ConfigurationError(
          `${JSON.stringify(privateFile)} lies in the client repository (${dir}); a private key must never be committed`,
          'key-file',
        ),
      );
    }
    const taken = [key.privateFile, key.publicFile].filter((file) => existsSync(file));
    if (taken.length > 0) {
      io.err(
        `swarm-deploy new-client: not overwriting the key file ${taken.join(' and ')}; choose another --key-file or pass --no-key.`,
      );
      return EXIT_FAILURE;
    }
    await createDeployKey(spec, key);
  }
  writeClientFiles(dir, files);
  io.out(`Wrote ${files.map((f) => f.path).join(', ')} in ${dir}.\n`);
  if (key) io.out(`Wrote the deploy key ${key.privateFile} (mode 0600) and ${key.publicFile}.\n`);
  io.out(oneTimeSteps(spec, key));
  return EXIT_OK;
}

/** resolveClientSpec, its errors naming the argument or flag the operator typed. */
function resolveSpec(input: ClientSpecInput): ClientSpec {
  try {
    return resolveClientSpec(input);
  } catch (error) {
    throw asCliError(error, { name: '<name>' });
  }
}

export const newClientCommand: Command = {
  summary: "write a new client's stack file and workflows, and print its one-time steps",
  usage: USAGE,
  run,
};
