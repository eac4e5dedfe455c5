/**
 * `platform tenant set|show|list`: the admin path to the tenant registry (src/state/tenants.ts),
 * what the gate on the managers reads for each client. Run by the platform team with the admin
 * key; a client's own key runs nothing but the gate, so no client can change its entry.
 */
import { DEFAULT_MAX_REPLICAS } from '../compose/policy.js';
import { ConfigurationError } from '../core/errors.js';
import { showValue } from '../core/names.js';
import {
  authorizedKeysFor,
  listTenants,
  publicKeyFromFile,
  readTenant,
  TENANT_FIELDS,
  TENANT_POLICIES,
  TENANT_TIERS,
  validateTenantEntry,
  writeTenant,
  type TenantEntry,
} from '../state/tenants.js';
import { fingerprintOf } from '../transport/known-hosts.js';
import {
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  isParseArgsError,
  UsageError,
  type CliIo,
  type Command,
} from './command.js';
import { CONNECTION_HELP, readNamedFile } from './connection.js';
import { OUTPUT_HELP, operatorCommand, printJson, withRunner, type OperatorDeps } from './operator.js';
import { formatTable } from './table.js';

/** How the tenant commands name an entry's fields: the argument or the flag that carries them. */
const FLAGS: Readonly<Record<string, string>> = {
  [TENANT_FIELDS.client]: '<client>',
  [TENANT_FIELDS.keys]: '--key-file',
};

const SET_USAGE = `Usage: swarm-deploy platform tenant set <client> --domain <d> --tier <t> [options]

Writes the client's entry in the tenant registry, replacing the whole entry: what is not given
here takes its default. The entry is a Swarm config only the platform writes; the gate reads it
on every deploy of the client.

  --domain <d>          a host name the client may route (repeat for more; required)
  --tier <t>            ${TENANT_TIERS.join(' | ')} (required)
  --policy <p>          ${TENANT_POLICIES.join(' | ')}: the least strict policy the client's deploys run under
                        (default enforce; a deploy may only make it stricter)
  --max-replicas <n>    the most replicas one service may run, 1 to 1000 (default ${DEFAULT_MAX_REPLICAS})
  --publish-ports       the client's services may publish ports on the nodes
  --manager-placement   the client's services may run on manager nodes
  --registry <host>     a registry the client's images may come from, host[:port] as an image
                        reference starts (docker.io for Docker Hub; repeat for more)
  --key-file <file>     a public key that may deploy the client (ssh-ed25519, or ssh-rsa of at
                        least 3072 bits; repeat for more)
  --subject <s>         an OIDC subject that may deploy the client, matched exactly, such as
                        repo:org/name:environment:production (repeat for more)`;

const SHOW_USAGE = `Usage: swarm-deploy platform tenant show <client> [options]

The client's entry in the tenant registry, and the authorized_keys lines its keys get on the
managers.`;

const LIST_USAGE = `Usage: swarm-deploy platform tenant list [options]

Every client in the tenant registry: tier, policy, replica limit, domains, and how many keys and
OIDC subjects may deploy it.`;

const setOptions = {
  domain: { type: 'string', multiple: true },
  tier: { type: 'string' },
  policy: { type: 'string' },
  'max-replicas': { type: 'string' },
  'publish-ports': { type: 'boolean', default: false },
  'manager-placement': { type: 'boolean', default: false },
  registry: { type: 'string', multiple: true },
  'key-file': { type: 'string', multiple: true },
  subject: { type: 'string', multiple: true },
} as const;

/** A whole number as the operator typed it; anything else is refused naming the flag. */
function wholeNumber(text: string, field: string): number {
  if (!/^\d{1,4}$/.test(text)) throw new ConfigurationError(`${showValue(text)} is not a whole number`, field);
  return Number(text);
}

/** `ssh-ed25519 SHA256:…`: how a key is shown (the whole blob says nothing to a reader). */
function keyFingerprint(key: string): string {
  const [type = '', base64 = ''] = key.split(' ');
  return `${type} ${fingerprintOf(Buffer.from(base64, 'base64'))}`;
}

export function formatTenant(entry: TenantEntry): string {
  const yesNo = (value: boolean) => (value ? 'yes' : 'no');
  const rows: [string, string[]][] = [
    ['client', [entry.client]],
    ['domains', entry.domains],
    ['tier', [entry.tier]],
    ['policy', [entry.policy]],
    ['max replicas', [String(entry.maxReplicas)]],
    ['publish ports', [yesNo(entry.publishPorts)]],
    ['manager placement', [yesNo(entry.managerPlacement)]],
    ['registries', entry.registries],
    ['keys', entry.keys.map(keyFingerprint)],
    ['subjects', entry.subjects],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows
    .flatMap(([label, values]) =>
      (values.length === 0 ? ['-'] : values).map((value, i) => `${(i === 0 ? label : '').padEnd(width)}  ${value}`),
    )
    .join('\n');
}

function formatTenants(entries: readonly TenantEntry[]): string {
  if (entries.length === 0) return 'The tenant registry is empty.';
  return formatTable(
    ['CLIENT', 'TIER', 'POLICY', 'MAX-REPLICAS', 'DOMAINS', 'KEYS', 'SUBJECTS'],
    entries.map((e) => [
      e.client,
      e.tier,
      e.policy,
      String(e.maxReplicas),
      e.domains.join(','),
      String(e.keys.length),
      String(e.subjects.length),
    ]),
  );
}

export function tenantSetCommand(overrides: Partial<OperatorDeps> = {}): Command {
  return operatorCommand(
    {
      name: 'platform tenant set',
      summary: "write a client's entry in the tenant registry",
      usage: SET_USAGE,
      options: setOptions,
      positionals: { what: 'the client', min: 1, max: 1 },
      flags: FLAGS,
      async body(run) {
        const { values, io, deps, log } = run;
        const [client = ''] = run.args;
        if (values.domain === undefined) throw new UsageError('at least one --domain is required');
        if (values.tier === undefined) throw new UsageError('--tier is required');
        const keys = (values['key-file'] ?? []).map((file) =>
          publicKeyFromFile(readNamedFile(file, io.cwd, TENANT_FIELDS.keys), TENANT_FIELDS.keys),
        );
        const entry = {
          client,
          domains: values.domain,
          tier: values.tier,
          policy: values.policy ?? 'enforce',
          maxReplicas:
            values['max-replicas'] === undefined
              ? DEFAULT_MAX_REPLICAS
              : wholeNumber(values['max-replicas'], TENANT_FIELDS.maxReplicas),
          publishPorts: values['publish-ports'],
          managerPlacement: values['manager-placement'],
          registries: values.registry ?? [],
          keys,
          subjects: values.subject ?? [],
        } as TenantEntry;
        // Refused before the connection opens: bad input changes nothing on the cluster.
        validateTenantEntry(entry);
        const connection = run.connection();
        const written = await withRunner(deps, connection, log, (runner) => writeTenant(runner, entry));
        if (values.json) printJson(io, { client, ...written });
        else if (!written.changed) io.out(`${client}: unchanged (${written.config}).`);
        else {
          const replaced = written.pruned.length > 0 ? ` (replaces ${written.pruned.join(', ')})` : '';
          io.out(`${client}: written as ${written.config}${replaced}.`);
        }
        return EXIT_OK;
      },
    },
    overrides,
  );
}

export function tenantShowCommand(overrides: Partial<OperatorDeps> = {}): Command {
  return operatorCommand(
    {
      name: 'platform tenant show',
      summary: "a client's entry in the tenant registry",
      usage: SHOW_USAGE,
      options: {},
      positionals: { what: 'the client', min: 1, max: 1 },
      flags: FLAGS,
      async body(run) {
        const { io, deps, log } = run;
        const [client = ''] = run.args;
        const connection = run.connection();
        const entry = await withRunner(deps, connection, log, (runner) => readTenant(runner, client));
        if (run.values.json) {
          printJson(io, { client, entry: entry ?? null });
        } else if (entry === undefined) {
          io.out(`${client} has no entry in the tenant registry.`);
        } else {
          const keys = authorizedKeysFor([entry]);
          io.out(formatTenant(entry));
          if (keys !== '') io.out(`\nauthorized_keys lines on the managers:\n${keys.trimEnd()}`);
        }
        return entry === undefined ? EXIT_FAILURE : EXIT_OK;
      },
    },
    overrides,
  );
}

export function tenantListCommand(overrides: Partial<OperatorDeps> = {}): Command {
  return operatorCommand(
    {
      name: 'platform tenant list',
      summary: 'every client in the tenant registry',
      usage: LIST_USAGE,
      options: {},
      positionals: { what: 'nothing', min: 0, max: 0 },
      async body(run) {
        const entries = await withRunner(run.deps, run.connection(), run.log, (runner) => listTenants(runner));
        if (run.values.json) printJson(run.io, { tenants: entries });
        else run.io.out(formatTenants(entries));
        return EXIT_OK;
      },
    },
    overrides,
  );
}

const SHARED_HELP = `\n\n${CONNECTION_HELP}\n\n${OUTPUT_HELP}`;

/**
 * A command made of subcommands named by their first words (`tenant set`): it runs the one the
 * arguments start with, and a misuse of it is reported with that subcommand's own usage.
 */
export function commandGroup(name: string, summary: string, subcommands: Readonly<Record<string, Command>>): Command {
  const own = (usage: string) => (usage.endsWith(SHARED_HELP) ? usage.slice(0, -SHARED_HELP.length) : usage);
  const synopsis = `Usage: swarm-deploy ${name} ${Object.keys(subcommands).join(' | ')}`;
  const usage = [synopsis, ...Object.values(subcommands).map((c) => own(c.usage))].join('\n\n') + SHARED_HELP;
  return {
    summary,
    usage,
    async run(args, io: CliIo) {
      if (args[0] === '--help' || args[0] === '-h') {
        io.out(usage);
        return EXIT_OK;
      }
      const found = Object.keys(subcommands).find((words) => words.split(' ').every((word, i) => args[i] === word));
      if (found === undefined) throw new UsageError(`expected ${Object.keys(subcommands).join(', ')}`);
      const command = subcommands[found] as Command;
      try {
        return await command.run(args.slice(found.split(' ').length), io);
      } catch (error: unknown) {
        if (!(error instanceof UsageError) && !isParseArgsError(error)) throw error;
        io.err(`swarm-deploy ${name} ${found}: ${error.message}\n\n${command.usage}`);
        return EXIT_USAGE;
      }
    },
  };
}

export function platformCommand(overrides: Partial<OperatorDeps> = {}): Command {
  return commandGroup('platform', 'the tenant registry: write, show or list what each client may do', {
    'tenant set': tenantSetCommand(overrides),
    'tenant show': tenantShowCommand(overrides),
    'tenant list': tenantListCommand(overrides),
  });
}
