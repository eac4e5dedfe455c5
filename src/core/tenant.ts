/**
 * The tenant: one client of the shared swarm. Built once, from a validated client name, it owns
 * every name and label derived from that name, so no other module spells them out: the stack,
 * the client's network, the names Swarm gives the stack's objects, Traefik router names, the
 * deploy lock and release configs, and the labels that mark what swarm-deploy created.
 */
import { validateClientName } from './names.js';

/** Labels on what swarm-deploy creates in the swarm. */
export const LABELS = {
  client: 'swarm-deploy.client',
  /** `release`, `lock` or `versioned` on configs and secrets. */
  kind: 'swarm-deploy.kind',
  release: 'swarm-deploy.release',
  /** A versioned secret's or config's name in the stack file. */
  name: 'swarm-deploy.name',
  verdict: 'swarm-deploy.verdict',
  /**
   * The client a tenant registry entry is for. A label of its own, not `client`: nothing that lists
   * a client's own objects (its releases, lock, versioned secrets) ever sees the platform's entry.
   */
  tenant: 'swarm-deploy.tenant',
} as const;

/** What a labelled config or secret holds. */
export type ObjectRole = 'release' | 'lock' | 'versioned';

const RELEASE_CONFIG_PREFIX = 'sdr.';
const LOCK_CONFIG_PREFIX = 'sdl.';
const TENANT_CONFIG_PREFIX = 'sdt.';
/** The `kind` label of a tenant registry entry. */
const TENANT_KIND = 'tenant';
/** Between the client and the name in Traefik names: a character client names cannot contain. */
const ROUTER_SEPARATOR = '_';

export class Tenant {
  private constructor(readonly name: string) {}

  /** A client name as given by a user: validated here, the only place (`field` names it in errors). */
  static parse(name: string, field = 'client'): Tenant {
    return new Tenant(validateClientName(name, field));
  }

  /**
   * A client name read back from what swarm-deploy itself recorded in the swarm (labels, release
   * records); it was a parsed Tenant when it was written.
   */
  static recorded(name: string): Tenant {
    return new Tenant(name);
  }

  /** The stack is named after the client. */
  get stack(): string {
    return this.name;
  }

  /** The client's attachable overlay network, created on first deploy and never removed. */
  get network(): string {
    return `${this.name}-net`;
  }

  /** What Swarm calls the stack's service, network, volume, secret or config `name`: `<client>_<name>`. */
  scoped(name: string): string {
    return `${this.name}_${name}`;
  }

  /** Whether a Swarm object name lies in the stack's namespace. */
  owns(fullName: string): boolean {
    return fullName.startsWith(`${this.name}_`);
  }

  /** The stack-file name of a scoped name; a name outside the namespace is returned as given. */
  unscoped(fullName: string): string {
    return this.owns(fullName) ? fullName.slice(this.name.length + 1) : fullName;
  }

  /**
   * A Traefik router or service name for one of the client's services: `<client>_<service>`. A
   * client name cannot contain '_', so the first '_' ends the client's part and no client's names
   * can collide with another's (with '-', client `shop` could declare `shop-eu-web`, a name of
   * client `shop-eu`, and take a share of its traffic).
   */
  router(service: string): string {
    return `${this.name}${ROUTER_SEPARATOR}${service.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  }

  /**
   * Whether a Traefik router, service or middleware name is the client's: `<client>_` and at least
   * one more character. Compared without case, so `SHOP_web` is the client's `shop_web` too.
   */
  ownsRouter(name: string): boolean {
    const prefix = `${this.name}${ROUTER_SEPARATOR}`;
    return name.length > prefix.length && name.toLowerCase().startsWith(prefix);
  }

  /** The prefix of the client's Traefik names, for messages. */
  get routerPrefix(): string {
    return `${this.name}${ROUTER_SEPARATOR}`;
  }

  /** The Swarm config that is the client's deploy lock. */
  get lockConfig(): string {
    return `${LOCK_CONFIG_PREFIX}${this.name}`;
  }

  /** The Swarm config that records release `id`. */
  releaseConfig(id: string): string {
    return `${RELEASE_CONFIG_PREFIX}${this.name}.${id}`;
  }

  isReleaseConfig(name: string): boolean {
    return name.startsWith(`${RELEASE_CONFIG_PREFIX}${this.name}.`);
  }

  /** The Swarm config that holds one version of the client's tenant registry entry: `sdt.<client>.<hash>`. */
  tenantConfig(hash: string): string {
    return `${TENANT_CONFIG_PREFIX}${this.name}.${hash}`;
  }

  /** Whether a config name is one version of this client's tenant registry entry. */
  isTenantConfig(name: string): boolean {
    return name.startsWith(`${TENANT_CONFIG_PREFIX}${this.name}.`);
  }

  /** `--label` values of a tenant registry entry of this client (written by the platform only). */
  get tenantLabels(): string[] {
    return [`${LABELS.tenant}=${this.name}`, `${LABELS.kind}=${TENANT_KIND}`];
  }

  /** `docker config ls` filters for this client's tenant registry entries. */
  get tenantFilters(): string[] {
    return this.tenantLabels.flatMap((label) => ['--filter', `label=${label}`]);
  }

  /** `--label` values that mark a config or secret as this client's, holding `role`. */
  labels(role: ObjectRole): string[] {
    return [`${LABELS.client}=${this.name}`, `${LABELS.kind}=${role}`];
  }

  /** `docker config ls` / `docker secret ls` filters for this client's objects of `role`. */
  filters(role: ObjectRole): string[] {
    return this.labels(role).flatMap((label) => ['--filter', `label=${label}`]);
  }

  toString(): string {
    return this.name;
  }
}

/** `docker config ls` filters for every client's tenant registry entries. */
export const TENANT_FILTERS: readonly string[] = ['--filter', `label=${LABELS.kind}=${TENANT_KIND}`];

/** Whether a config name is a release record of any client. */
export function isReleaseConfigName(name: string): boolean {
  return name.startsWith(RELEASE_CONFIG_PREFIX);
}
