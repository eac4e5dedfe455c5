/**
 * What the platform says about a tenant: the gate reads it, clients cannot write it. The gate codes
 * against `TenantRegistry`; until the registry kept in Swarm configs is in place, the gate's entry
 * reads one root-owned JSON file per client (`fileRegistry`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../core/errors.js';

export interface TenantEntry {
  client: string;
  /** The host names the client may route. */
  domains: string[];
  /** Placement tier: `standard` or `enterprise`. */
  tier: string;
  /** The platform's policy mode for this client; a request may only make it stricter. */
  policy: 'enforce' | 'warn';
  /** The most replicas one service may ask for. */
  maxReplicas: number;
  /** Whether the client's services may publish ports on the nodes. */
  publishPorts: boolean;
  /** Registries the client may log in to (the `registry` input). */
  registries: string[];
}

export interface TenantRegistry {
  /** The client's entry, or undefined when the client is not registered. */
  read(client: string): Promise<TenantEntry | undefined>;
}

/** An entry as read from the platform's store: anything malformed is the platform's mistake, said plainly. */
export function parseTenantEntry(client: string, value: unknown): TenantEntry {
  const entry = value as Partial<TenantEntry> | null;
  const strings = (items: unknown) => Array.isArray(items) && items.every((item) => typeof item === 'string');
  if (
    typeof entry !== 'object' ||
    entry === null ||
    entry.client !== client ||
    !strings(entry.domains) ||
    typeof entry.tier !== 'string' ||
    (entry.policy !== 'enforce' && entry.policy !== 'warn') ||
    !Number.isInteger(entry.maxReplicas) ||
    (entry.maxReplicas as number) < 1 ||
    typeof entry.publishPorts !== 'boolean' ||
    !strings(entry.registries)
  ) {
    throw new Error(`the platform's registry entry of ${client} is malformed`);
  }
  return {
    client,
    domains: [...(entry.domains as string[])],
    tier: entry.tier,
    policy: entry.policy,
    maxReplicas: entry.maxReplicas as number,
    publishPorts: entry.publishPorts,
    registries: [...(entry.registries as string[])],
  };
}

/** Entries held in memory (tests; a platform without a registry yet). */
export function memoryRegistry(entries: readonly TenantEntry[]): TenantRegistry {
  const byClient = new Map(entries.map((entry) => [entry.client, entry]));
  return { read: (client) => Promise.resolve(byClient.get(client)) };
}

/**
 * `<directory>/<client>.json`, one entry per client. The client name was validated (Tenant.parse)
 * before it reaches here, so it cannot lead out of the directory.
 */
export function fileRegistry(directory: string): TenantRegistry {
  return {
    async read(client) {
      let text: string;
      try {
        text = await readFile(join(directory, `${client}.json`), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new Error(`cannot read the registry entry of ${client}: ${errorMessage(error)}`);
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new Error(`the platform's registry entry of ${client} is not JSON`);
      }
      return parseTenantEntry(client, value);
    },
  };
}
