/**
 * Pure: a deploy request meets its client's tenant registry entry. The entry is the platform's
 * word, the request the client's: a request can only make the policy stricter. What it asks for
 * beyond its entry is refused with an error naming the input, rather than quietly lowered, so a
 * client never believes it runs under settings it does not have.
 */
import { ConfigurationError } from '../core/errors.js';
import { showValue, splitImageRef, splitRegistry, validateDomain } from '../core/names.js';
import type { PolicySettings } from '../compose/policy.js';
import type { TenantEntry } from '../state/tenants.js';

/** What Docker calls Docker Hub when an image names no registry, and the aliases it reads the same. */
const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES: readonly string[] = ['index.docker.io', 'registry-1.docker.io'];

/** The registry an image reference pulls from, as an entry lists it: `host[:port]`, lowercase. */
export function imageRegistry(image: string, field = 'image'): string {
  let repository: string;
  try {
    repository = splitImageRef(image).repository;
  } catch (error: unknown) {
    if (error instanceof ConfigurationError) throw new ConfigurationError(error.message, field);
    throw error;
  }
  const registry = (splitRegistry(repository).registry ?? DOCKER_HUB).toLowerCase();
  return DOCKER_HUB_ALIASES.includes(registry) ? DOCKER_HUB : registry;
}

/**
 * The policy a request runs under, given its client's entry: `policy` as the request read it (its
 * inputs and their defaults) and the images it would deploy (each service's). The result takes
 * the tier and manager placement from the entry, the stricter of the two policy modes, at most
 * the entry's replicas, published ports only when both allow them, and the request's domains,
 * each of which must be the entry's. Every refusal is a ConfigurationError naming the input.
 *
 * A `policy: warn` under an entry that enforces is refused, not raised to enforce: the client
 * asked for something it may not have, and should read why rather than find its stack refused
 * by rules it thought were advisory.
 */
export function tenantPolicy(entry: TenantEntry, policy: PolicySettings, images: readonly string[]): PolicySettings {
  const client = entry.client;
  if (policy.mode === 'warn' && entry.policy === 'enforce') {
    throw new ConfigurationError(
      `the platform enforces the policy for ${client}; a deploy may make the policy stricter, never weaker (use enforce)`,
      'policy',
    );
  }
  const domains = policy.domains.map((domain) => validateDomain(domain, 'domain'));
  const foreign = domains.filter((domain) => !entry.domains.includes(domain));
  if (foreign.length > 0) {
    throw new ConfigurationError(
      `${foreign.map((d) => showValue(d)).join(', ')} ${foreign.length === 1 ? 'is not a domain' : 'are not domains'} of ${client}` +
        ` (its domains: ${entry.domains.join(', ') || 'none'}); ask the platform team to add it`,
      'domain',
    );
  }
  if (policy.tier !== undefined && policy.tier !== entry.tier) {
    throw new ConfigurationError(
      `${client} is a ${entry.tier} client; the tier is the platform's to set (leave the input empty or give ${entry.tier})`,
      'tier',
    );
  }
  if (policy.allowPublishedPorts && !entry.publishPorts) {
    throw new ConfigurationError(`${client} may not publish ports on the nodes`, 'allow-published-ports');
  }
  for (const image of images) {
    const registry = imageRegistry(image);
    if (!entry.registries.includes(registry)) {
      throw new ConfigurationError(
        `the image ${showValue(image, 120)} comes from ${registry}, which is not a registry ${client} may pull from` +
          ` (${entry.registries.join(', ') || 'none is allowed'})`,
        'image',
      );
    }
  }
  return {
    ...policy,
    mode: policy.mode === 'enforce' || entry.policy === 'enforce' ? 'enforce' : 'warn',
    domains,
    tier: entry.tier,
    maxReplicas: Math.min(entry.maxReplicas, policy.maxReplicas ?? entry.maxReplicas),
    allowPublishedPorts: policy.allowPublishedPorts && entry.publishPorts,
    allowManagerPlacement: entry.managerPlacement && policy.allowManagerPlacement !== false,
  };
}
