/**
 * The tenant registry: what the platform lets each client do (its domains, tier, policy, limits,
 * the image registries it may pull from, and the keys and OIDC subjects that may deploy it). It
 * lives in the swarm, replicated by the managers' Raft like the release history, as Swarm configs
 * that only the platform writes (the admin path, or the gate on a manager): a tenant's key runs
 * nothing but the gate, so no client can write or remove an entry.
 *
 * One config per client and version, `sdt.<client>.<hash of its content>`, labelled
 * `swarm-deploy.tenant=<client>` and `swarm-deploy.kind=tenant`. The newest version (by the
 * managers' creation time) is the entry; a write removes the older ones. An entry is validated
 * when it is written and again when it is read, so a damaged or hand-made config refuses the
 * client's deploys rather than loosening them.
 */
import { ConfigurationError, errorMessage } from '../core/errors.js';
import { checkResult, outputLines, type CommandRunner } from '../core/exec.js';
import { REGISTRY_HOST, showValue, validateDomain } from '../core/names.js';
import { keyBlobParts } from '../core/ssh-key.js';
import { LABELS, TENANT_FILTERS, Tenant } from '../core/tenant.js';
import { contentHash } from './versioned.js';

export const TENANT_TIERS = ['standard', 'enterprise'] as const;
export const TENANT_POLICIES = ['enforce', 'warn'] as const;
/** The most replicas an entry may allow one service. */
export const MAX_REPLICAS_LIMIT = 1000;

export interface TenantEntry {
  client: string;
  /** Host names the client may route. */
  domains: string[];
  tier: (typeof TENANT_TIERS)[number];
  /** The policy the client's stacks are judged by at the least: a request may only make it stricter. */
  policy: (typeof TENANT_POLICIES)[number];
  /** The most replicas one service of the client may run. */
  maxReplicas: number;
  /** Whether the client's services may publish ports on the nodes. */
  publishPorts: boolean;
  /** Whether the client's services may be placed on manager nodes. */
  managerPlacement: boolean;
  /** Registries the client's images may come from: `host[:port]`, `docker.io` for Docker Hub. */
  registries: string[];
  /** OpenSSH public keys that may deploy the client: `ssh-ed25519 <base64>` or `ssh-rsa <base64>` (≥ 3072 bits). */
  keys: string[];
  /** OIDC subjects that may deploy the client, such as `repo:org/name:environment:production`. */
  subjects: string[];
}

/**
 * The field key of each entry field in errors (each boundary spells it: the CLI as its flag). The
 * order is the order an entry is written in.
 */
export const TENANT_FIELDS: Readonly<Record<keyof TenantEntry, string>> = {
  client: 'client',
  domains: 'domain',
  tier: 'tier',
  policy: 'policy',
  maxReplicas: 'max-replicas',
  publishPorts: 'publish-ports',
  managerPlacement: 'manager-placement',
  registries: 'registry',
  keys: 'key',
  subjects: 'subject',
};

/** Bounds that keep one entry well inside a Swarm config (500 KB) and a line of authorized_keys. */
const MAX_ITEMS = 100;
const MAX_KEY_LENGTH = 4096;
const MAX_SUBJECT_LENGTH = 256;
const MIN_RSA_BITS = 3072;
const MAX_RSA_BITS = 16384;

const KEY_LINE = /^(ssh-ed25519|ssh-rsa) ([A-Za-z0-9+/]+={0,2})$/;
/**
 * A GitHub OIDC subject, matched exactly: `repo:<owner>/<repo>:` and its context (`environment:…`,
 * `ref:refs/heads/…`, `pull_request`): letters, digits and `_.:/@+=,%-`; no space, quote or wildcard.
 */
const SUBJECT = /^repo:[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+:[A-Za-z0-9_.:/@+=,%-]+$/;

/**
 * An entry's public key, checked to be exactly `<type> <base64>`: one of the two key types the
 * platform takes, a blob of that type, and an RSA modulus of at least 3072 bits. Nothing else can
 * stand on the line, so no option, quote or line break reaches authorized_keys through a key.
 */
export function validatePublicKey(key: string, field = TENANT_FIELDS.keys): string {
  const shown = showValue(key, 40);
  if (key.length > MAX_KEY_LENGTH) throw new ConfigurationError(`the key ${shown} is too long`, field);
  const match = KEY_LINE.exec(key);
  if (match === null) {
    throw new ConfigurationError(
      `the key ${shown} is not "ssh-ed25519 <base64>" or "ssh-rsa <base64>" (no options, no comment)`,
      field,
    );
  }
  const type = match[1] as string;
  const base64 = match[2] as string;
  const blob = Buffer.from(base64, 'base64');
  const parts = blob.toString('base64') === base64 ? keyBlobParts(blob) : undefined;
  if (parts === undefined || parts[0]?.toString('latin1') !== type) {
    throw new ConfigurationError(`the key ${shown} is not a well-formed ${type} public key`, field);
  }
  if (type === 'ssh-ed25519' && (parts.length !== 2 || parts[1]?.length !== 32)) {
    throw new ConfigurationError(`the key ${shown} is not a well-formed ssh-ed25519 public key`, field);
  }
  if (type === 'ssh-rsa') {
    const bits = parts.length === 3 ? modulusBits(parts[2] as Buffer) : 0;
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
      throw new ConfigurationError(
        `the key ${shown} is an RSA key of ${bits} bits; RSA keys must have ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits (or use ssh-ed25519)`,
        field,
      );
    }
  }
  return key;
}

/** The bit length of an SSH mpint (big-endian, leading zero bytes allowed). */
function modulusBits(mpint: Buffer): number {
  let at = 0;
  while (at < mpint.length && mpint[at] === 0) at++;
  if (at === mpint.length) return 0;
  return (mpint.length - at - 1) * 8 + (mpint[at] as number).toString(2).length;
}

/**
 * A public key file (`id_ed25519.pub`) as an entry's key: one line `<type> <base64> [comment]`; the
 * comment is dropped (the registry writes its own). A line that starts with options, or a file of
 * several lines, is refused.
 */
export function publicKeyFromFile(text: string, field = TENANT_FIELDS.keys): string {
  const line = text.replace(/\r?\n$/, '');
  if (/[\r\n]/.test(line)) throw new ConfigurationError('the key file must hold exactly one public key line', field);
  const [type = '', base64 = ''] = line.split(' ');
  return validatePublicKey(`${type} ${base64}`, field);
}

function choice<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) {
    throw new ConfigurationError(`${showValue(String(value))} is not one of ${allowed.join(', ')}`, field);
  }
  return found;
}

function flag(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigurationError(`expected true or false`, field);
  return value;
}

/** A list of strings, each validated (and normalised) by `check`, without repeats, at most MAX_ITEMS. */
function list(value: unknown, field: string, check: (item: string) => string): string[] {
  if (!Array.isArray(value)) throw new ConfigurationError('expected a list', field);
  if (value.length > MAX_ITEMS) throw new ConfigurationError(`at most ${MAX_ITEMS} values are allowed`, field);
  const items = value.map((item: unknown) => {
    if (typeof item !== 'string') throw new ConfigurationError(`${showValue(String(item))} is not a string`, field);
    return check(item);
  });
  return [...new Set(items)];
}

/** A registry an entry allows: `host[:port]` as it leads an image reference, lowercase. */
export function validateRegistry(registry: string, field = TENANT_FIELDS.registries): string {
  const host = registry.toLowerCase();
  const port = /:(\d+)$/.exec(host)?.[1];
  if (!REGISTRY_HOST.test(host) || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) {
    throw new ConfigurationError(
      `${showValue(registry)} is not a registry host (host or host:port, as an image reference starts; docker.io for Docker Hub)`,
      field,
    );
  }
  return host;
}

function validateSubject(subject: string, field = TENANT_FIELDS.subjects): string {
  if (subject.length > MAX_SUBJECT_LENGTH || !SUBJECT.test(subject)) {
    throw new ConfigurationError(
      `${showValue(subject)} is not an OIDC subject such as repo:org/name:environment:production (matched exactly: no spaces, quotes or wildcards)`,
      field,
    );
  }
  return subject;
}

/**
 * A tenant registry entry, validated field by field (errors name the field) and normalised
 * (domains and registries lowercase, repeats dropped, fields in their written order). Unknown
 * fields are refused, and so is a client name the platform keeps for itself.
 */
export function validateTenantEntry(value: unknown): TenantEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigurationError('a tenant entry must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !Object.hasOwn(TENANT_FIELDS, key));
  if (unknown.length > 0) {
    throw new ConfigurationError(`the tenant entry has unknown fields: ${unknown.map((k) => showValue(k)).join(', ')}`);
  }
  for (const [key, field] of Object.entries(TENANT_FIELDS)) {
    if (record[key] === undefined) throw new ConfigurationError(`the tenant entry has no ${key}`, field);
  }
  const f = TENANT_FIELDS;
  if (typeof record.client !== 'string') throw new ConfigurationError('the client name must be a string', f.client);
  const maxReplicas = record.maxReplicas;
  if (typeof maxReplicas !== 'number' || !Number.isInteger(maxReplicas) || maxReplicas < 1) {
    throw new ConfigurationError(`expected a whole number from 1 to ${MAX_REPLICAS_LIMIT}`, f.maxReplicas);
  }
  if (maxReplicas > MAX_REPLICAS_LIMIT) {
    throw new ConfigurationError(`expected a whole number from 1 to ${MAX_REPLICAS_LIMIT}`, f.maxReplicas);
  }
  return {
    client: Tenant.parse(record.client, f.client).name,
    domains: list(record.domains, f.domains, (d) => validateDomain(d, f.domains)),
    tier: choice(record.tier, TENANT_TIERS, f.tier),
    policy: choice(record.policy, TENANT_POLICIES, f.policy),
    maxReplicas,
    publishPorts: flag(record.publishPorts, f.publishPorts),
    managerPlacement: flag(record.managerPlacement, f.managerPlacement),
    registries: list(record.registries, f.registries, (r) => validateRegistry(r)),
    keys: list(record.keys, f.keys, (k) => validatePublicKey(k)),
    subjects: list(record.subjects, f.subjects, (s) => validateSubject(s)),
  };
}

/** The user the gate runs as, and the gate itself, on every manager. */
export const GATE_USER = 'swarm-gate';
export const GATE_PATH = '/usr/local/lib/swarm-deploy/gate';

/**
 * Pure: the text of the deploy user's authorized_keys for these entries: one line per key that
 * forces the gate for that key's client and nothing else (`restrict`: no shell, no forwarding,
 * no pty). Every entry is validated again, so a key line cannot carry an option, a quote or a
 * line break. A key given to two clients is refused: sshd would take the first line it matches,
 * and the key would deploy a client that never named it.
 */
export function authorizedKeysFor(entries: readonly TenantEntry[]): string {
  const owner = new Map<string, string>();
  const lines: string[] = [];
  for (const entry of entries.map(validateTenantEntry)) {
    for (const key of entry.keys) {
      const blob = key.slice(key.indexOf(' ') + 1);
      const other = owner.get(blob);
      if (other !== undefined && other !== entry.client) {
        throw new ConfigurationError(
          `the key ${showValue(key, 40)} is given to both ${other} and ${entry.client}; each key may deploy one client`,
          TENANT_FIELDS.keys,
        );
      }
      if (other !== undefined) continue;
      owner.set(blob, entry.client);
      const command = `sudo -n -u ${GATE_USER} -- ${GATE_PATH} --client ${entry.client}`;
      lines.push(`restrict,command="${command}" ${key} swarm-deploy:${entry.client}`);
    }
  }
  return lines.map((line) => `${line}\n`).join('');
}

/** One stored version of an entry, as `docker config inspect` shows it. */
interface TenantConfig {
  name: string;
  /** The managers' creation time, comparable as a string (fraction padded to nanoseconds). */
  created: string;
  data: string;
  /** The `swarm-deploy.tenant` label. */
  client: string;
}

interface ConfigInspect {
  CreatedAt?: string;
  Spec: { Name: string; Data?: string; Labels?: Record<string, string> };
}

/** An RFC 3339 time with its fraction padded to nine digits, so that times compare as strings. */
function sortableTime(time: string): string {
  const match = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$/.exec(time);
  return `${match?.[1] ?? time}.${(match?.[2] ?? '').padEnd(9, '0')}`;
}

/** The configs the filters select (two commands whatever their number). */
async function readConfigs(runner: CommandRunner, filters: readonly string[]): Promise<TenantConfig[]> {
  const list = await runner.run(['docker', 'config', 'ls', ...filters, '--format', '{{.Name}}']);
  const names = outputLines(list.stdout);
  if (names.length === 0) return [];
  const out = await runner.run(['docker', 'config', 'inspect', ...names]);
  return (JSON.parse(out.stdout) as ConfigInspect[]).map((config) => ({
    name: config.Spec.Name,
    created: sortableTime(config.CreatedAt ?? ''),
    data: Buffer.from(config.Spec.Data ?? '', 'base64').toString('utf8'),
    client: config.Spec.Labels?.[LABELS.tenant] ?? '',
  }));
}

/** The versions of one client's entry, newest first; configs not named as its entries are left out. */
function versionsOf(configs: readonly TenantConfig[], tenant: Tenant): TenantConfig[] {
  return configs
    .filter((c) => c.client === tenant.name && tenant.isTenantConfig(c.name))
    .sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : a.name < b.name ? 1 : -1));
}

/** The entry a stored version holds: its name must be its content's hash, and the entry valid and the client's. */
function entryOf(config: TenantConfig, tenant: Tenant): TenantEntry {
  try {
    if (tenant.tenantConfig(contentHash(config.data)) !== config.name) {
      throw new Error('its content does not match its name');
    }
    const entry = validateTenantEntry(JSON.parse(config.data));
    if (entry.client !== tenant.name) throw new Error(`it is the entry of ${showValue(entry.client)}`);
    return entry;
  } catch (error: unknown) {
    // The platform's own record is damaged or was made by hand: refuse rather than guess.
    throw new Error(
      `the tenant registry entry ${config.name} of ${tenant.name} cannot be used (${errorMessage(error)}); write it again with "platform tenant set"`,
    );
  }
}

/** The client's entry (its newest version), or undefined when the registry has none. */
export async function readTenant(runner: CommandRunner, client: string): Promise<TenantEntry | undefined> {
  const tenant = Tenant.parse(client, TENANT_FIELDS.client);
  const [newest] = versionsOf(await readConfigs(runner, tenant.tenantFilters), tenant);
  return newest === undefined ? undefined : entryOf(newest, tenant);
}

/** Every client's entry, by client name. */
export async function listTenants(runner: CommandRunner): Promise<TenantEntry[]> {
  const configs = await readConfigs(runner, TENANT_FILTERS);
  const clients = [...new Set(configs.map((c) => c.client))].sort();
  const entries: TenantEntry[] = [];
  for (const client of clients) {
    const tenant = Tenant.recorded(client);
    const [newest] = versionsOf(configs, tenant);
    if (newest !== undefined) entries.push(entryOf(newest, tenant));
  }
  return entries;
}

export interface TenantWrite {
  /** The config that holds the entry now. */
  config: string;
  /** False when the newest version already held this very entry. */
  changed: boolean;
  /** Older versions removed. */
  pruned: string[];
}

/**
 * Write a client's entry (validated first; nothing is written when it is not valid) and remove
 * its older versions. Writing the entry the newest version already holds changes nothing. Only
 * versions seen before the write are removed, so of two writes at once the later-created wins and
 * neither removes the other's newer version.
 */
export async function writeTenant(runner: CommandRunner, entry: TenantEntry): Promise<TenantWrite> {
  const valid = validateTenantEntry(entry);
  const tenant = Tenant.parse(valid.client, TENANT_FIELDS.client);
  const content = JSON.stringify(valid);
  const name = tenant.tenantConfig(contentHash(content));
  const versions = versionsOf(await readConfigs(runner, tenant.tenantFilters), tenant);
  const changed = versions[0]?.name !== name;
  if (changed) {
    // An older version with this content would stay older than the current one: make it anew.
    if (versions.some((v) => v.name === name)) await runner.run(['docker', 'config', 'rm', name]);
    const argv = [
      'docker',
      'config',
      'create',
      ...tenant.tenantLabels.flatMap((label) => ['--label', label]),
      name,
      '-',
    ];
    // Repeated after a dropped connection: the name is the content's hash, so an existing config of
    // that name holds this very entry and the write landed.
    const result = await runner.run(argv, { stdin: content, allowFailure: true, repeatable: true });
    if (result.code !== 0 && !/already exists|AlreadyExists/i.test(result.stderr)) checkResult(argv, result, {});
  }
  const pruned = versions.map((v) => v.name).filter((n) => n !== name);
  // A version that could not be removed is older than the new one and is never read.
  if (pruned.length > 0) await runner.run(['docker', 'config', 'rm', ...pruned], { allowFailure: true });
  return { config: name, changed, pruned };
}
