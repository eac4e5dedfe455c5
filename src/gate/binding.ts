/**
 * The tenant binding: what a request may ask of the gate, decided before anything runs. The client
 * comes from the key's forced command; the request's own `client` must name the same one. The
 * platform's registry entry sets the policy, the domains, the tier and the registries; a request's
 * policy inputs may only make it stricter (an input that asks for more is refused, except
 * `max-replicas`, whose lower value applies: the action always sends its default).
 */
import { ConfigurationError } from '../core/errors.js';
import type { Inputs } from '../core/inputs.js';
import type { PolicySettings } from '../compose/policy.js';
import type { RolloutSettings } from '../rollout/request.js';
import { GATE_INPUTS } from '../steps/gate-client.js';
import { CONNECTION_INPUTS } from '../transport/gate-protocol.js';
import type { TenantEntry } from './registry.js';

/** Refuses inputs that choose how to connect, names no swarm-deploy input, or name another client. */
export function checkRequestInputs(inputs: Readonly<Record<string, string>>, client: string): void {
  for (const name of Object.keys(inputs)) {
    if (CONNECTION_INPUTS.includes(name)) {
      throw new ConfigurationError(
        'chooses how to reach the managers: a request to the gate cannot set it (the gate runs on the manager)',
        name,
      );
    }
    if (!(GATE_INPUTS as readonly string[]).includes(name)) {
      throw new ConfigurationError('is not an input of swarm-deploy', name);
    }
  }
  const asked = inputs.client?.trim();
  if (asked !== client) {
    throw new ConfigurationError(
      `this key deploys ${client} only${asked === undefined || asked === '' ? '' : `, not ${JSON.stringify(asked.slice(0, 64))}`}`,
      'client',
    );
  }
}

function tierOf(entry: TenantEntry): 'standard' | 'enterprise' {
  if (entry.tier !== 'standard' && entry.tier !== 'enterprise') {
    throw new Error(`the platform's registry entry of ${entry.client} names an unknown tier "${entry.tier}"`);
  }
  return entry.tier;
}

/**
 * The policy a request is judged by: the registry entry's, made stricter by the request where it
 * asks. An input that asks for more than the entry allows is refused, naming the input.
 */
export function boundPolicy(requested: PolicySettings, inputs: Inputs, entry: TenantEntry): PolicySettings {
  const client = entry.client;
  const mode = inputs.optional('policy') === undefined ? entry.policy : requested.mode;
  if (entry.policy === 'enforce' && mode === 'warn') {
    throw new ConfigurationError(`the platform enforces the policy for ${client}; warn cannot be asked for`, 'policy');
  }
  let allowPublishedPorts = entry.publishPorts;
  if (inputs.optional('allow-published-ports') !== undefined) {
    if (requested.allowPublishedPorts && !entry.publishPorts) {
      throw new ConfigurationError(`the platform does not let ${client} publish ports`, 'allow-published-ports');
    }
    allowPublishedPorts = requested.allowPublishedPorts;
  }
  // The runner always sends the action's default (10): the lower of the two applies, never a refusal.
  const maxReplicas = Math.min(requested.maxReplicas ?? entry.maxReplicas, entry.maxReplicas);
  const tier = tierOf(entry);
  if (requested.tier !== undefined && requested.tier !== tier) {
    throw new ConfigurationError(`${client} is on the ${tier} tier of this platform, not ${requested.tier}`, 'tier');
  }
  for (const domain of requested.domains) {
    if (!entry.domains.some((owned) => owned.toLowerCase() === domain.toLowerCase())) {
      throw new ConfigurationError(
        `${JSON.stringify(domain.slice(0, 100))} is not a domain of ${client} on this platform (${entry.domains.join(', ') || 'none registered'})`,
        'domain',
      );
    }
  }
  return {
    ...requested,
    mode,
    allowPublishedPorts,
    maxReplicas,
    tier,
    // Tenants stay off manager nodes; the platform's entrypoints are the defaults.
    allowManagerPlacement: false,
    entrypoints: undefined,
  };
}

/** A `registry` to log in to must be one of the entry's. */
export function checkRegistry(registry: RolloutSettings['registry'], entry: TenantEntry): void {
  if (registry === undefined) return;
  const server = registry.server.replace(/^https?:\/\//, '').toLowerCase();
  if (!entry.registries.some((allowed) => allowed.replace(/^https?:\/\//, '').toLowerCase() === server)) {
    throw new ConfigurationError(
      `${JSON.stringify(registry.server)} is not a registry of ${entry.client} on this platform (${entry.registries.join(', ') || 'none registered'})`,
      'registry',
    );
  }
}
