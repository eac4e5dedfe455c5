import { ConfigurationError } from '../core/errors.js';
import type { Tenant } from '../core/tenant.js';
import type { YamlPath } from './interpolate.js';
import { showValue } from '../core/names.js';
import { checkTraefikLabels, DEFAULT_ENTRYPOINTS } from './traefik.js';

/**
 * The policy gate of the shared cluster: what one client's stack may not do because it would
 * reach another client's network, secrets, volumes or traffic, or the node itself. It judges the
 * stack as its author wrote it (after variables), before anything is added by rendering, so every
 * violation points at a line of the stack file. Some keys are ignored by `docker stack deploy`
 * (`privileged`, `devices`, `network_mode`, `pid`...): they are refused anyway, because the author
 * meant something dangerous and the next engine version may honour it.
 */

export interface PolicySettings {
  mode: 'enforce' | 'warn';
  allowPublishedPorts: boolean;
  /** Default `deploy.resources.limits.cpus` for services without one, e.g. `0.5`. */
  defaultCpus?: string | undefined;
  /** Default `deploy.resources.limits.memory`, e.g. `256M`. */
  defaultMemory?: string | undefined;
  /** Placement: enterprise clients on `node.labels.tier == enterprise`, standard ones off them. No constraint when unset. */
  tier?: 'standard' | 'enterprise' | undefined;
  /** Host names the client owns: Traefik labels are generated for them and hand-written ones may route only them. */
  domains: string[];
  /** The routed service's port (required when domains are given). */
  port?: number | undefined;
  /** The service that receives the domains (default: the only service of the stack). */
  routedService?: string | undefined;
  entrypoint?: string | undefined;
  certResolver?: string | undefined;
  /** The shared Traefik's entrypoints a router may use (default DEFAULT_ENTRYPOINTS: `web`, `websecure`). */
  entrypoints?: readonly string[] | undefined;
}

/** The entrypoints routers of the client may listen on. */
export function platformEntrypoints(policy: PolicySettings): readonly string[] {
  return policy.entrypoints ?? DEFAULT_ENTRYPOINTS;
}

/** Every rule the gate reports; all but the ADVISORY_RULES refuse a stack in enforce mode. */
export const POLICY_RULES = [
  'plain-key',
  'foreign-network',
  'host-network',
  'network-driver',
  'network-mode',
  'host-namespace',
  'privileged',
  'cap-add',
  'devices',
  'security-opt',
  'bind-mount',
  'foreign-volume',
  'foreign-secret',
  'foreign-config',
  'published-ports',
  'traefik-labels',
  'placement',
  'reserved-label',
  'default-limits',
  'stateful-order',
] as const;
export type PolicyRule = (typeof POLICY_RULES)[number];

/** Rules that only tell what rendering added (always warnings, never a refusal). */
export const ADVISORY_RULES: readonly PolicyRule[] = ['default-limits', 'stateful-order'];

export interface Violation {
  /** One of POLICY_RULES. */
  rule: string;
  service?: string;
  message: string;
  file: string;
  line?: number;
  severity: 'error' | 'warning';
}

export interface JudgedStack {
  tenant: Tenant;
  /** The stack file path, for messages and annotations. */
  file: string;
  /** The parsed document after variable substitution, before rendering adds anything. */
  document: Readonly<Record<string, unknown>>;
  /** Source line of a path in the document (the key's line), or of its nearest written ancestor. */
  lineOf: (path: YamlPath) => number | undefined;
  /** Top-level secrets and configs whose value the deploy supplies (they become the client's versioned objects). */
  suppliedSecrets?: ReadonlySet<string>;
  suppliedConfigs?: ReadonlySet<string>;
}

export const TIER_LABEL = 'node.labels.tier';

export function tierConstraint(tier: 'standard' | 'enterprise'): string {
  return tier === 'enterprise' ? `${TIER_LABEL} == enterprise` : `${TIER_LABEL} != enterprise`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function entries(value: unknown): [string, unknown][] {
  return isRecord(value) ? Object.entries(value) : [];
}

function isTrue(value: unknown): boolean {
  return value === true || (typeof value === 'string' && value.toLowerCase() === 'true');
}

function isExternal(definition: unknown): boolean {
  if (!isRecord(definition)) return false;
  return isTrue(definition.external) || isRecord(definition.external);
}

/** The name Swarm gives a top-level network, volume, secret or config of the tenant's stack. */
export function objectName(tenant: Tenant, key: string, definition: unknown): string {
  if (isRecord(definition)) {
    if (isRecord(definition.external) && typeof definition.external.name === 'string') return definition.external.name;
    if (typeof definition.name === 'string') return definition.name;
    if (isExternal(definition)) return key;
  }
  return tenant.scoped(key);
}

/**
 * Labels in either compose form (`{k: v}` or `["k=v"]`), with the path of each entry.
 * Values are strings as Docker stores them.
 */
export function labelEntries(labels: unknown, path: YamlPath): { key: string; value: string; path: YamlPath }[] {
  if (Array.isArray(labels)) {
    return labels.map((item, index) => {
      const text = String(item);
      const eq = text.indexOf('=');
      return {
        key: eq < 0 ? text : text.slice(0, eq),
        value: eq < 0 ? '' : text.slice(eq + 1),
        path: [...path, index],
      };
    });
  }
  return entries(labels).map(([key, value]) => ({
    key,
    value: value === null || value === undefined ? '' : String(value),
    path: [...path, key],
  }));
}

/** The names a service's `networks` refers to (list or map form), with their paths. */
export function serviceNetworks(service: Record<string, unknown>): { name: string; path: YamlPath }[] {
  const networks = service.networks;
  if (Array.isArray(networks)) return networks.map((name, index) => ({ name: String(name), path: [index] }));
  return entries(networks).map(([name]) => ({ name, path: [name] }));
}

/** The secret or config names a service refers to (short or long syntax), with their paths. */
export function serviceReferences(
  service: Record<string, unknown>,
  kind: 'secrets' | 'configs',
): { name: string; path: YamlPath }[] {
  const list = service[kind];
  if (!Array.isArray(list)) return [];
  return list.map((item, index) => ({
    name: isRecord(item) ? String(item.source ?? '') : String(item),
    path: [index],
  }));
}

const HOST_NETWORKS = new Set(['host', 'ingress']);
const DOCKER_SOCKET = /docker\.sock/;

export function judgeStack(stack: JudgedStack, policy: PolicySettings): Violation[] {
  const { tenant, file, document } = stack;
  const severity = policy.mode === 'enforce' ? 'error' : 'warning';
  const violations: Violation[] = [];
  const add = (rule: PolicyRule, path: YamlPath, message: string, service?: string): void => {
    const violation: Violation = { rule, message, file, severity };
    if (service !== undefined) violation.service = service;
    const line = stack.lineOf(path);
    if (line !== undefined) violation.line = line;
    violations.push(violation);
  };
  const clientNet = tenant.network;

  // Top-level networks: external ones must be the client's network; own ones stay overlay and namespaced.
  const networkNames: string[] = [clientNet];
  for (const [key, definition] of entries(document.networks)) {
    const path = ['networks', key];
    const name = objectName(tenant, key, definition);
    if (isExternal(definition) || (isRecord(definition) && typeof definition.name === 'string')) {
      if (HOST_NETWORKS.has(name)) {
        add('host-network', path, `network "${key}" is the node's ${name} network`);
      } else if (name !== clientNet && !tenant.owns(name)) {
        add('foreign-network', path, `network "${key}" is ${showValue(name)}, not the client's network ${clientNet}`);
      }
    }
    if (!isExternal(definition) && isRecord(definition) && definition.driver !== undefined) {
      const driver = String(definition.driver);
      if (driver === 'host') add('host-network', [...path, 'driver'], `network "${key}" uses the host driver`);
      else if (driver !== 'overlay') {
        add(
          'network-driver',
          [...path, 'driver'],
          `network "${key}" uses driver ${showValue(driver)}; stack networks must be overlay`,
        );
      }
    }
    networkNames.push(name);
  }

  // Top-level volumes: no host paths in disguise, no volume of another stack.
  for (const [key, definition] of entries(document.volumes)) {
    const path = ['volumes', key];
    if (!isRecord(definition)) continue;
    const name = objectName(tenant, key, definition);
    if ((isExternal(definition) || typeof definition.name === 'string') && !tenant.owns(name)) {
      add(
        'foreign-volume',
        path,
        `volume "${key}" is ${showValue(name)}, which is not named after the client ("${tenant.scoped('...')}")`,
      );
    }
    const options = isRecord(definition.driver_opts) ? definition.driver_opts : {};
    const device = options.device;
    if (device !== undefined || /\bbind\b/.test(String(options.o ?? ''))) {
      const socket = DOCKER_SOCKET.test(String(device ?? '')) ? ' (the Docker socket: root on the node)' : '';
      add('bind-mount', [...path, 'driver_opts'], `volume "${key}" mounts a host path${socket} through driver_opts`);
    }
  }

  // Top-level secrets and configs declared external must be the client's own.
  for (const [kind, rule] of [
    ['secrets', 'foreign-secret'],
    ['configs', 'foreign-config'],
  ] as const) {
    const supplied = kind === 'secrets' ? stack.suppliedSecrets : stack.suppliedConfigs;
    for (const [key, definition] of entries(document[kind])) {
      if (supplied?.has(key) || !isExternal(definition)) continue;
      const name = objectName(tenant, key, definition);
      if (!tenant.owns(name)) {
        add(
          rule,
          [kind, key],
          `${kind.slice(0, -1)} "${key}" is ${showValue(name)}, which does not belong to the client ("${tenant.scoped('...')}")`,
        );
      }
    }
  }

  for (const [name, raw] of entries(document.services)) {
    if (!isRecord(raw)) continue;
    const service = raw;
    const at = (...rest: YamlPath): YamlPath => ['services', name, ...rest];
    const refuse = (rule: PolicyRule, path: YamlPath, message: string): void => add(rule, path, message, name);

    for (const network of serviceNetworks(service)) {
      if (HOST_NETWORKS.has(network.name) && !(isRecord(document.networks) && network.name in document.networks)) {
        refuse(
          'host-network',
          at('networks', ...network.path),
          `service "${name}" joins the node's ${network.name} network`,
        );
      }
    }
    if (service.network_mode !== undefined) {
      refuse(
        'network-mode',
        at('network_mode'),
        `service "${name}" sets network_mode ${showValue(String(service.network_mode))}; services join only the client's networks`,
      );
    }
    for (const key of ['pid', 'ipc', 'uts', 'userns_mode', 'cgroup']) {
      const value = service[key];
      if (value === undefined || value === null) continue;
      const text = String(value);
      if (text === 'host' || text.startsWith('container:') || text.startsWith('service:')) {
        refuse('host-namespace', at(key), `service "${name}" shares a namespace: ${key}: ${showValue(text)}`);
      }
    }
    if (
      service.privileged !== undefined &&
      service.privileged !== null &&
      service.privileged !== false &&
      String(service.privileged).toLowerCase() !== 'false'
    ) {
      refuse('privileged', at('privileged'), `service "${name}" asks for privileged mode`);
    }
    if (
      Array.isArray(service.cap_add)
        ? service.cap_add.length > 0
        : service.cap_add !== undefined && service.cap_add !== null
    ) {
      refuse('cap-add', at('cap_add'), `service "${name}" adds kernel capabilities (cap_add)`);
    }
    if (
      Array.isArray(service.devices)
        ? service.devices.length > 0
        : service.devices !== undefined && service.devices !== null
    ) {
      refuse('devices', at('devices'), `service "${name}" maps host devices`);
    }
    if (Array.isArray(service.security_opt)) {
      service.security_opt.forEach((option, index) => {
        if (/unconfined|disable/i.test(String(option))) {
          refuse(
            'security-opt',
            at('security_opt', index),
            `service "${name}" weakens its confinement: ${showValue(String(option))}`,
          );
        }
      });
    }
    if (Array.isArray(service.volumes)) {
      service.volumes.forEach((volume, index) => {
        const source = bindSource(volume);
        if (source === undefined) return;
        const socket = DOCKER_SOCKET.test(source)
          ? ' — the Docker socket, which gives root on every node of the cluster'
          : '';
        refuse(
          'bind-mount',
          at('volumes', index),
          `service "${name}" bind-mounts the host path ${showValue(source)}${socket}`,
        );
      });
    }
    if (!policy.allowPublishedPorts && Array.isArray(service.ports) && service.ports.length > 0) {
      refuse(
        'published-ports',
        at('ports'),
        `service "${name}" publishes ports; traffic enters through the shared Traefik (allow-published-ports is false)`,
      );
    }

    const deploy = isRecord(service.deploy) ? service.deploy : {};
    const ownNetworks = networkNames.filter((network) => network === clientNet || tenant.owns(network));
    for (const [labels, path] of [
      [deploy.labels, at('deploy', 'labels')],
      [service.labels, at('labels')],
    ] as const) {
      const list = labelEntries(labels, path);
      const byKey: Record<string, string> = {};
      const pathOf = new Map<string, YamlPath>();
      for (const entry of list) {
        byKey[entry.key] = entry.value;
        pathOf.set(entry.key, entry.path);
        if (entry.key.startsWith('swarm-deploy.')) {
          refuse(
            'reserved-label',
            entry.path,
            `service "${name}" sets label ${showValue(entry.key)}; swarm-deploy.* labels are written by the deploy`,
          );
        }
      }
      const scope = {
        tenant,
        domains: policy.domains,
        networks: ownNetworks,
        entrypoints: platformEntrypoints(policy),
      };
      for (const problem of checkTraefikLabels(byKey, scope)) {
        refuse('traefik-labels', pathOf.get(problem.key) ?? path, `service "${name}": ${problem.message}`);
      }
    }

    const placement = isRecord(deploy.placement) ? deploy.placement : {};
    if (Array.isArray(placement.constraints)) {
      const wanted = policy.tier === undefined ? undefined : tierConstraint(policy.tier).replace(/\s+/g, '');
      placement.constraints.forEach((constraint, index) => {
        const text = String(constraint);
        if (text.includes(TIER_LABEL) && text.replace(/\s+/g, '') !== wanted) {
          refuse(
            'placement',
            at('deploy', 'placement', 'constraints', index),
            `service "${name}" sets its own tier placement ${showValue(text)}; the tier is set by the platform${policy.tier === undefined ? '' : ` (${policy.tier})`}`,
          );
        }
      });
    }
  }

  return violations.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/** The host path of a bind mount in a service's `volumes` entry, or undefined for volumes and tmpfs. */
export function bindSource(volume: unknown): string | undefined {
  if (typeof volume === 'string') {
    const parts = volume.split(':');
    // `C:\path:/dst` (a Windows host path) is also a bind.
    const source = /^[A-Za-z]:[\\/]/.test(volume) ? volume.slice(0, volume.indexOf(':', 2)) : (parts[0] ?? '');
    if (parts.length < 2) return undefined;
    return isHostPath(source) ? source : undefined;
  }
  if (isRecord(volume)) {
    const source = volume.source === undefined || volume.source === null ? '' : String(volume.source);
    if (volume.type === 'bind' || volume.type === 'npipe') return source === '' ? '(unset)' : source;
    if (volume.type === undefined && isHostPath(source)) return source;
  }
  return undefined;
}

/**
 * The entries of a service's `volumes` that mount a volume by name, in short or long syntax, with
 * their paths; bind mounts, tmpfs and anonymous volumes are not.
 */
export function volumeReferences(service: Record<string, unknown>): { name: string; path: YamlPath }[] {
  if (!Array.isArray(service.volumes)) return [];
  return service.volumes.flatMap((volume: unknown, index) => {
    if (bindSource(volume) !== undefined) return [];
    let source: string | undefined;
    if (typeof volume === 'string' && volume.includes(':')) source = volume.slice(0, volume.indexOf(':'));
    else if (isRecord(volume) && (volume.type === undefined || volume.type === 'volume') && volume.source != null)
      source = String(volume.source);
    return source === undefined || source === '' ? [] : [{ name: source, path: [index] }];
  });
}

/** The entries of a service's `volumes` that mount a named volume of the stack (a key of the top-level `volumes`). */
export function namedVolumeMounts(
  service: Record<string, unknown>,
  declared: Record<string, unknown>,
): { name: string; path: YamlPath }[] {
  return volumeReferences(service).filter((mount) => Object.hasOwn(declared, mount.name));
}

/**
 * The notice for a service that mounts named volumes and got `order: stop-first` by default for
 * the given configs (`update_config`, `rollback_config`): two tasks never write the same data at once.
 */
export function statefulOrderNotice(
  name: string,
  volumes: readonly string[],
  defaulted: readonly string[],
  file: string,
  line: number | undefined,
): Violation {
  const mounts = volumes.map((volume) => `"${volume}"`).join(', ');
  const noun = volumes.length === 1 ? 'volume' : 'volumes';
  const verb = defaulted.length === 1 ? 'defaults' : 'default';
  const notice: Violation = {
    rule: 'stateful-order',
    service: name,
    message:
      `service "${name}" mounts the named ${noun} ${mounts}: ${defaulted.join(' and ')} ${verb} to order: stop-first, ` +
      'so two tasks never run on the same data at once; set the order in the stack file to choose',
    file,
    severity: 'warning',
  };
  if (line !== undefined) notice.line = line;
  return notice;
}

function isHostPath(source: string): boolean {
  return /^([./~]|[A-Za-z]:[\\/]|\\\\)/.test(source) || source.includes('/');
}

const CPUS = /^\d+(\.\d+)?$/;
const MEMORY = /^\d+(\.\d+)?\s*([kmgt]i?b?|b)?$/i;

/** Validate the default limits of the settings (ConfigurationError naming the input). */
export function validatePolicySettings(policy: PolicySettings): void {
  if (policy.defaultCpus !== undefined && (!CPUS.test(policy.defaultCpus) || Number(policy.defaultCpus) <= 0)) {
    throw new ConfigurationError(
      `${showValue(policy.defaultCpus)} is not a number of CPUs such as 0.5 or 2`,
      'default-cpus',
    );
  }
  if (
    policy.defaultMemory !== undefined &&
    (!MEMORY.test(policy.defaultMemory) || parseFloat(policy.defaultMemory) <= 0)
  ) {
    throw new ConfigurationError(
      `${showValue(policy.defaultMemory)} is not a memory size such as 256M or 1G`,
      'default-memory',
    );
  }
}

/**
 * Give a service without limits the default ones; returns the warning to report, if any.
 * Mutates `service` (a rendered copy).
 */
export function applyDefaultLimits(
  service: Record<string, unknown>,
  name: string,
  policy: PolicySettings,
  file: string,
  line: number | undefined,
): Violation | undefined {
  const deploy = record(service, 'deploy');
  const resources = record(deploy, 'resources');
  const limits = record(resources, 'limits');
  const added: string[] = [];
  const missing: string[] = [];
  for (const [key, value] of [
    ['cpus', policy.defaultCpus],
    ['memory', policy.defaultMemory],
  ] as const) {
    if (limits[key] !== undefined && limits[key] !== null) continue;
    if (value === undefined) {
      missing.push(key);
    } else {
      limits[key] = value;
      added.push(`${key}: ${value}`);
    }
  }
  if (added.length === 0 && missing.length === 0) return undefined;
  const parts: string[] = [];
  if (added.length > 0) parts.push(`default limits applied (${added.join(', ')})`);
  if (missing.length > 0) parts.push(`no ${missing.join(' or ')} limit and no default given`);
  const warning: Violation = {
    rule: 'default-limits',
    service: name,
    message: `service "${name}" sets no resource limits: ${parts.join('; ')}; set deploy.resources.limits in the stack file`,
    file,
    severity: 'warning',
  };
  if (line !== undefined) warning.line = line;
  if (Object.keys(limits).length === 0) delete resources.limits;
  if (Object.keys(resources).length === 0) delete deploy.resources;
  if (Object.keys(deploy).length === 0) delete service.deploy;
  return warning;
}

/** The record under `key`, created when missing (null counts as missing). */
export function record(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = parent[key];
  if (isRecord(value)) return value;
  if (value !== undefined && value !== null) throw new ConfigurationError(`"${key}" must be a mapping`, 'stack-file');
  const created: Record<string, unknown> = {};
  parent[key] = created;
  return created;
}
