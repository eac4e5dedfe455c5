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
import { tenantPolicy } from '../rollout/tenancy.js';
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

/**
 * The policy a request is judged by: the registry entry's, made stricter by the request where it
 * asks (tenantPolicy: an input that asks for more than the entry allows is refused, naming the
 * input; max-replicas takes the lower of the two, since the runner always sends the action's
 * default). `images` are the images the request would deploy, each from one of the entry's
 * registries.
 */
export function boundPolicy(
  requested: PolicySettings,
  inputs: Inputs,
  entry: TenantEntry,
  images: readonly string[],
): PolicySettings {
  // An input the request did not send takes the entry's value.
  const asked: PolicySettings = {
    ...requested,
    mode: inputs.optional('policy') === undefined ? entry.policy : requested.mode,
    allowPublishedPorts:
      inputs.optional('allow-published-ports') === undefined ? entry.publishPorts : requested.allowPublishedPorts,
  };
  // The platform's entrypoints are the defaults: a request cannot widen them.
  return { ...tenantPolicy(entry, asked, images), entrypoints: undefined };
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
