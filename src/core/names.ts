import { ConfigurationError } from './errors.js';

/**
 * Names that end up in docker commands, stack names, network names and Traefik router names.
 * They are checked before anything runs: a value is either accepted exactly as given or refused
 * with a message that shows it escaped (so a newline or a control character in a hostile value
 * cannot forge a log line or a workflow command).
 */

const CLIENT_NAME = /^[a-z][a-z0-9-]*$/;
export const CLIENT_NAME_MAX = 40;

/**
 * Names of the platform's own stacks and networks (examples/platform: the `traefik` and
 * `monitoring` stacks, the `traefik-public` network) and of Docker's own networks. A client of that
 * name would own the platform's objects: its stack is the platform's stack, `traefik_<name>` the
 * certificate volume.
 */
export const RESERVED_CLIENT_NAMES: readonly string[] = [
  'traefik',
  'monitoring',
  'platform',
  'swarm-deploy',
  'registry',
  'ingress',
  'host',
  'bridge',
  'none',
  'default',
  'docker',
  'swarm',
  'sdr',
  'sdl',
  'sdt',
];

/**
 * Prefixes the pack and the platform keep for themselves: `sd-` and `swarm-deploy-` for the pack's
 * own objects (beside its `sdr.`/`sdl.` configs and `swarm-deploy.*` labels), `traefik-` for
 * what stands beside Traefik (its `traefik-public` network).
 */
export const RESERVED_CLIENT_PREFIXES: readonly string[] = ['sd-', 'swarm-deploy-', 'traefik-'];

/** Why a client name is reserved (a phrase completing "the client name ..."), or undefined. */
function reservedClientName(name: string): string | undefined {
  if (RESERVED_CLIENT_NAMES.includes(name)) return 'is reserved for the platform and swarm-deploy itself';
  const prefix = RESERVED_CLIENT_PREFIXES.find((reserved) => name.startsWith(reserved));
  if (prefix !== undefined)
    return `must not start with '${prefix}', which is reserved for the platform and swarm-deploy`;
  return undefined;
}

/** A value shown in an error message: JSON-escaped and cut short. */
export function showValue(value: string, max = 60): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}

/**
 * The tenant name. It becomes the stack name (`<client>_<service>`), the network `<client>-net`,
 * secret names and Traefik router names, so it is held to the intersection of their grammars.
 */
export function validateClientName(name: string, input = 'client'): string {
  const shown = showValue(name);
  if (name.length === 0) throw new ConfigurationError('the client name is empty', input);
  if (name.length < 2 || name.length > CLIENT_NAME_MAX) {
    throw new ConfigurationError(
      `the client name ${shown} must be 2 to ${CLIENT_NAME_MAX} characters long (it is ${name.length})`,
      input,
    );
  }
  if (!CLIENT_NAME.test(name)) {
    throw new ConfigurationError(
      `the client name ${shown} may contain only lowercase ASCII letters, digits and '-', and must start with a letter`,
      input,
    );
  }
  if (name.endsWith('-')) throw new ConfigurationError(`the client name ${shown} must not end with '-'`, input);
  // `<client>-net` is the client's network: a client called `x-net` would own `x-net-net` while
  // its name reads like the network of client `x`.
  if (name.endsWith('-net')) throw new ConfigurationError(`the client name ${shown} must not end with '-net'`, input);
  const reserved = reservedClientName(name);
  if (reserved !== undefined) throw new ConfigurationError(`the client name ${shown} ${reserved}`, input);
  return name;
}

const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A host name for a `Host()` rule: lowercase letters, digits, '-' and dots; no wildcard, no quoting. */
export function validateDomain(domain: string, input = 'domain'): string {
  const host = domain.toLowerCase();
  const labels = host.split('.');
  if (host.length === 0 || host.length > 253 || !labels.every((label) => DOMAIN_LABEL.test(label))) {
    throw new ConfigurationError(
      `${showValue(domain)} is not a host name (letters, digits, '-' and '.', each part at most 63 characters; no wildcards)`,
      input,
    );
  }
  return host;
}

// The grammar of github.com/distribution/reference (what docker itself accepts).
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = 'sha256:[a-f0-9]{64}';
const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${REMOTE_NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const NAME_MAX = 255;
const DIGEST_LENGTH = 'sha256:'.length + 64;

/**
 * An image reference: `[registry[:port]/]path[:tag][@sha256:<64 hex>]`, repository lowercase,
 * tag at most 128 characters of `[A-Za-z0-9_.-]` not starting with `.` or `-`.
 */
export function validateImageRef(ref: string, input = 'image'): string {
  const problem = imageRefProblem(ref);
  if (problem !== undefined) throw new ConfigurationError(problem, input);
  return ref;
}

/** Why a reference is refused (a sentence naming the value), or undefined when it is valid. */
export function imageRefProblem(ref: string): string | undefined {
  const shown = showValue(ref, 120);
  if (ref.length === 0) return 'the image reference is empty';
  // Bounded before the regular expression runs, so a hostile megabyte costs nothing.
  if (ref.length > NAME_MAX + 1 + 128 + 1 + DIGEST_LENGTH) return `${shown} is too long to be an image reference`;
  const match = REFERENCE.exec(ref);
  if (match === null) return `${shown} is not a valid image reference: ${explainImageRef(ref)}`;
  const name = match[1] ?? '';
  if (name.length > NAME_MAX) return `the repository name of ${shown} is longer than ${NAME_MAX} characters`;
  return undefined;
}

/** The most likely reason a reference was refused, for the error message. */
function explainImageRef(ref: string): string {
  if (/\s/.test(ref)) return 'it contains whitespace';
  if (/[^\x21-\x7e]/.test(ref)) return 'it contains characters outside printable ASCII';
  const at = ref.indexOf('@');
  if (at >= 0 && !new RegExp(`@${DIGEST}$`).test(ref)) return 'the digest must be sha256: followed by 64 lowercase hex';
  const beforeDigest = at >= 0 ? ref.slice(0, at) : ref;
  const lastSlash = beforeDigest.lastIndexOf('/');
  const colon = beforeDigest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    const tag = beforeDigest.slice(colon + 1);
    if (tag.length === 0) return 'the tag after ":" is empty';
    if (tag.length > 128) return 'the tag is longer than 128 characters';
    if (!new RegExp(`^${TAG}$`).test(tag))
      return "the tag may contain only [A-Za-z0-9_.-] and must not start with '.' or '-'";
  }
  const name = colon >= 0 ? beforeDigest.slice(0, colon) : beforeDigest;
  const parts = name.split('/');
  const hasDomain = parts.length > 1 && /[.:]|^localhost$|[A-Z]/.test(parts[0] ?? '');
  const path = hasDomain ? parts.slice(1) : parts;
  if (path.some((part) => /[A-Z]/.test(part))) return 'the repository name must be lowercase';
  return 'expected [registry/]name[:tag][@sha256:digest] with lowercase letters, digits and separators . _ - in the name';
}

/** A registry host as it leads an image reference, lowercase: `host[:port]`. */
export const REGISTRY_HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;

/** Docker's rule: a first component with a `.` or `:`, or `localhost`, is a registry host. */
export function splitRegistry(name: string): { registry: string | undefined; path: string } {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    return { registry: first, path: name.slice(slash + 1) };
  }
  return { registry: undefined, path: name };
}

export interface ImageRefParts {
  /** Registry and path, e.g. `123.dkr.ecr.eu-west-1.amazonaws.com/shop/api`. */
  repository: string;
  tag?: string;
  /** `sha256:<64 hex>` */
  digest?: string;
}

/** Split a reference that validateImageRef accepts (throws ConfigurationError otherwise). */
export function splitImageRef(ref: string): ImageRefParts {
  validateImageRef(ref);
  const match = REFERENCE.exec(ref) as RegExpExecArray;
  const parts: ImageRefParts = { repository: match[1] as string };
  if (match[2] !== undefined) parts.tag = match[2];
  if (match[3] !== undefined) parts.digest = match[3];
  return parts;
}
