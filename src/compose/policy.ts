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
  /** Whether the client's services may be placed on manager nodes (default false: tenants stay on workers). */
  allowManagerPlacement?: boolean | undefined;
  /** The most replicas one service may ask for (default DEFAULT_MAX_REPLICAS). */
  maxReplicas?: number | undefined;
}

/** The most replicas one service may ask for when the policy names no maximum. */
export const DEFAULT_MAX_REPLICAS = 10;

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
  'service-key',
  'manager-placement',
  'deploy-mode',
  'replicas',
  'logging',
  'volume-driver',
  'sysctls',
  'extra-hosts',
  'network-options',
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
    if (isRecord(definition)) {
      for (const option of ['driver_opts', 'ipam'] as const) {
        if (definition[option] === undefined || definition[option] === null) continue;
        add(
          'network-options',
          [...path, option],
          `network "${key}" sets ${option}; the platform chooses the drivers' options and addresses of stack networks`,
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
    if (definition.driver !== undefined && definition.driver !== null && String(definition.driver) !== 'local') {
      add(
        'volume-driver',
        [...path, 'driver'],
        `volume "${key}" uses driver ${showValue(String(definition.driver))}; stack volumes use the local driver`,
      );
    }
    const options = isRecord(definition.driver_opts) ? definition.driver_opts : {};
    const device = options.device;
    if (isTmpfsOptions(definition.driver_opts)) continue;
    if ((device !== undefined && String(device) !== 'tmpfs') || /\bbind\b/.test(String(options.o ?? ''))) {
      const socket = DOCKER_SOCKET.test(String(device ?? '')) ? ' (the Docker socket: root on the node)' : '';
      add('bind-mount', [...path, 'driver_opts'], `volume "${key}" mounts a host path${socket} through driver_opts`);
    } else if (definition.driver_opts !== undefined && definition.driver_opts !== null) {
      add(
        'volume-driver',
        [...path, 'driver_opts'],
        `volume "${key}" sets driver_opts other than a tmpfs (type: tmpfs, device: tmpfs, o: size/mode/uid/gid/nr_inodes)`,
      );
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

    judgeServiceKeys(service, refuse, at, name);
    judgeRuntime(service, refuse, at, name);
    judgeDeploy(service, policy, refuse, at, name);

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

type Refuse = (rule: PolicyRule, path: YamlPath, message: string) => void;
type At = (...rest: YamlPath) => YamlPath;

/**
 * The service keys `docker stack deploy` accepts (compose file format 3.x) that the gate lets
 * through: harmless ones, and those a rule of their own judges (`privileged`, `cap_add`, `pid`...).
 * Left out on purpose: `cgroup_parent` (a cgroup of the node's choosing), `credential_spec` (a file
 * or registry value of the node), `isolation`, `mac_address` and `storage_opt`. Any other key is
 * refused (`service-key`), so a key the gate does not know can never carry something past it.
 */
export const SERVICE_KEYS: ReadonlySet<string> = new Set([
  'build',
  'cap_add',
  'cap_drop',
  'cgroup',
  'command',
  'configs',
  'container_name',
  'depends_on',
  'deploy',
  'devices',
  'dns',
  'dns_search',
  'domainname',
  'entrypoint',
  'env_file',
  'environment',
  'expose',
  'external_links',
  'extra_hosts',
  'healthcheck',
  'hostname',
  'image',
  'init',
  'ipc',
  'labels',
  'links',
  'logging',
  'network_mode',
  'networks',
  'pid',
  'ports',
  'privileged',
  'read_only',
  'restart',
  'secrets',
  'security_opt',
  'shm_size',
  'stdin_open',
  'stop_grace_period',
  'stop_signal',
  'sysctls',
  'tmpfs',
  'tty',
  'ulimits',
  'user',
  'userns_mode',
  'uts',
  'volumes',
  'working_dir',
]);

function judgeServiceKeys(service: Record<string, unknown>, refuse: Refuse, at: At, name: string): void {
  for (const key of Object.keys(service)) {
    if (SERVICE_KEYS.has(key) || key.startsWith('x-')) continue;
    refuse('service-key', at(key), `service "${name}" sets ${showValue(key)}, which the cluster policy does not allow`);
  }
}

/** Log drivers that keep the logs on the node, read by `docker service logs`; none given is the platform's default. */
const LOG_DRIVERS = new Set(['json-file', 'local']);
/** Options of those drivers: sizes, rotation, and what each line is tagged with. None of them is an address. */
const LOG_OPTIONS = new Set([
  'max-size',
  'max-file',
  'compress',
  'mode',
  'max-buffer-size',
  'tag',
  'labels',
  'labels-regex',
  'env',
  'env-regex',
]);

/** What the containers of a service do on the node: log drivers, sysctls, the host's address in /etc/hosts. */
function judgeRuntime(service: Record<string, unknown>, refuse: Refuse, at: At, name: string): void {
  const logging = service.logging;
  if (isRecord(logging)) {
    if (logging.driver !== undefined && logging.driver !== null && !LOG_DRIVERS.has(String(logging.driver))) {
      refuse(
        'logging',
        at('logging', 'driver'),
        `service "${name}" sends its logs through the ${showValue(String(logging.driver))} driver; logs stay on the node (json-file or local)`,
      );
    }
    for (const [key] of entries(logging.options)) {
      if (LOG_OPTIONS.has(key)) continue;
      refuse(
        'logging',
        at('logging', 'options', key),
        `service "${name}" sets the logging option ${showValue(key)}; allowed: ${[...LOG_OPTIONS].join(', ')}`,
      );
    }
  }
  if (service.sysctls !== undefined && service.sysctls !== null) {
    refuse('sysctls', at('sysctls'), `service "${name}" sets kernel parameters (sysctls)`);
  }
  const hosts = service.extra_hosts;
  const pairs: [string, unknown, YamlPath][] = Array.isArray(hosts)
    ? hosts.map((item, index) => {
        const text = String(item);
        const split = text.search(/[:=]/);
        return [text.slice(0, Math.max(split, 0)), split < 0 ? '' : text.slice(split + 1), [index]];
      })
    : entries(hosts).map(([host, address]) => [host, address, [host]]);
  for (const [host, address, path] of pairs) {
    if (String(address).trim().toLowerCase() !== 'host-gateway') continue;
    refuse(
      'extra-hosts',
      at('extra_hosts', ...path),
      `service "${name}" maps ${showValue(host)} to host-gateway, the node's own address`,
    );
  }
}

/**
 * Modes a tenant's service may run in: a bounded number of tasks, never one on every node. Jobs
 * (`replicated-job`, `global-job`) are refused too: Swarm runs them once and refuses the update and
 * rollback settings every rendered service carries, so a watched rolling update cannot hold them.
 */
const DEPLOY_MODES = new Set(['replicated']);

/** The service's mode, replica count and placement on manager nodes. */
function judgeDeploy(
  service: Record<string, unknown>,
  policy: PolicySettings,
  refuse: Refuse,
  at: At,
  name: string,
): void {
  const deploy = isRecord(service.deploy) ? service.deploy : {};
  if (deploy.mode !== undefined && deploy.mode !== null && !DEPLOY_MODES.has(String(deploy.mode))) {
    refuse(
      'deploy-mode',
      at('deploy', 'mode'),
      String(deploy.mode).endsWith('-job')
        ? `service "${name}" runs in mode ${showValue(String(deploy.mode))}, a one-shot job, which a rolling update cannot watch or roll back; run it as a replicated service, or outside the deploy`
        : `service "${name}" runs in mode ${showValue(String(deploy.mode))}, a task on every node; use replicated with replicas`,
    );
  }
  const max = policy.maxReplicas ?? DEFAULT_MAX_REPLICAS;
  if (deploy.replicas !== undefined && deploy.replicas !== null) {
    const replicas = Number(deploy.replicas);
    // A value that is not a number is a problem of the file's structure, reported as such.
    if (Number.isFinite(replicas) && replicas > max) {
      refuse(
        'replicas',
        at('deploy', 'replicas'),
        `service "${name}" asks for ${showValue(String(deploy.replicas))} replicas; the platform allows at most ${max}`,
      );
    }
  }
  const placement = isRecord(deploy.placement) ? deploy.placement : {};
  if (policy.allowManagerPlacement === true || !Array.isArray(placement.constraints)) return;
  placement.constraints.forEach((constraint, index) => {
    const text = String(constraint);
    const role = /^node\.role(==|!=)(.*)$/.exec(text.replace(/\s+/g, '').toLowerCase());
    if (role === null) return;
    const [, operator, value] = role;
    if ((operator === '==' && value === 'worker') || (operator === '!=' && value === 'manager')) return;
    refuse(
      'manager-placement',
      at('deploy', 'placement', 'constraints', index),
      `service "${name}" asks for ${showValue(text)}; tenants run on worker nodes only (node.role == worker)`,
    );
  });
}

/** Options a tmpfs volume may be mounted with: sizes and ownership, never a source. */
const TMPFS_OPTION = /^(size|mode|uid|gid|nr_inodes)=[A-Za-z0-9.%]+$|^(noexec|nosuid|nodev|ro|rw)$/;

/** driver_opts that only make the volume a tmpfs (`type: tmpfs`, `device: tmpfs`, safe `o` options). */
function isTmpfsOptions(options: unknown): boolean {
  if (!isRecord(options)) return false;
  if (!Object.keys(options).every((key) => key === 'type' || key === 'device' || key === 'o')) return false;
  if (options.type !== 'tmpfs' || options.device !== 'tmpfs') return false;
  if (options.o === undefined || options.o === null) return true;
  return String(options.o)
    .split(',')
    .every((option) => TMPFS_OPTION.test(option.trim()));
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
  // A platform setting, not a client's input: a wrong value is the platform's own mistake.
  if (policy.maxReplicas !== undefined && (!Number.isInteger(policy.maxReplicas) || policy.maxReplicas < 1)) {
    throw new Error(`maxReplicas must be a whole number of at least 1, got ${policy.maxReplicas}`);
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
