/**
 * What the platform says about a tenant, as the gate reads it: the tenant registry kept in the
 * swarm (src/state/tenants.ts), which only the platform writes. The gate codes against
 * `TenantRegistry` so tests can hold entries in memory.
 */
import type { CommandRunner } from '../core/exec.js';
import { readTenant, type TenantEntry } from '../state/tenants.js';

export type { TenantEntry } from '../state/tenants.js';

export interface TenantRegistry {
  /** The client's entry, or undefined when the client is not registered. */
  read(client: string): Promise<TenantEntry | undefined>;
}

/** The registry in the swarm, read with docker on the manager. */
export function swarmRegistry(runner: CommandRunner): TenantRegistry {
  return { read: (client) => readTenant(runner, client) };
}

/** Entries held in memory (tests). */
export function memoryRegistry(entries: readonly TenantEntry[]): TenantRegistry {
  const byClient = new Map(entries.map((entry) => [entry.client, entry]));
  return { read: (client) => Promise.resolve(byClient.get(client)) };
}
