import { ConfigurationError } from '../core/errors.js';
import type { Tenant } from '../core/tenant.js';
import { showValue, validateDomain } from '../core/names.js';

/**
 * Traefik v3 on Swarm reads routing from service labels (`deploy.labels`) through its `swarm`
 * provider. The shared Traefik routes every tenant, so a label of one client can take traffic
 * meant for another (a rule on someone else's host, a rule with no host at all, a router name
 * that collides with another client's and makes Traefik drop both). Generated labels come from
 * validated inputs; hand-written ones are checked here.
 */

const TOKEN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** An entrypoint or certificate resolver name as configured on the shared Traefik. */
export function validateTraefikToken(value: string, input: string): string {
  if (!TOKEN.test(value) || value.length > 64) {
    throw new ConfigurationError(`${showValue(value)} may contain only letters, digits, '_' and '-'`, input);
  }
  return value;
}

export function validatePort(port: number, field: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigurationError(`${port} is not a TCP port (1 to 65535)`, field);
  }
  return port;
}

export interface RouteSettings {
  tenant: Tenant;
  service: string;
  domains: readonly string[];
  port: number;
  entrypoint?: string | undefined;
  certResolver?: string | undefined;
}

/** The Traefik v3 labels that route `domains` to `port` of the service over `<client>-net`. */
export function traefikLabels(route: RouteSettings): Record<string, string> {
  const name = route.tenant.router(route.service);
  const router = `traefik.http.routers.${name}`;
  const labels: Record<string, string> = {
    'traefik.enable': 'true',
    [`${router}.rule`]: route.domains.map((domain) => `Host(\`${validateDomain(domain)}\`)`).join(' || '),
    [`${router}.service`]: name,
    [`traefik.http.services.${name}.loadbalancer.server.port`]: String(validatePort(route.port, 'service-port')),
    'traefik.swarm.network': route.tenant.network,
  };
  if (route.entrypoint !== undefined) {
    labels[`${router}.entrypoints`] = validateTraefikToken(route.entrypoint, 'entrypoint');
  }
  if (route.certResolver !== undefined) {
    labels[`${router}.tls.certresolver`] = validateTraefikToken(route.certResolver, 'cert-resolver');
  }
  return labels;
}

/**
 * The hosts a router rule can match: a set of host names, or `'any'` when some request with
 * another host (or any host) can match. Host matchers narrow, `&&` intersects, `||` unites; any
 * other matcher (PathPrefix, Header, ClientIP...) and any negation match every host, and
 * HostRegexp cannot be checked, so they count as `'any'` unless an `&&` narrows them.
 */
export type RuleHosts = Set<string> | 'any';

type Token = { kind: 'name' | 'string' | '(' | ')' | ',' | '&&' | '||' | '!'; text: string };

function tokenize(rule: string): Token[] | undefined {
  const tokens: Token[] = [];
  let i = 0;
  while (i < rule.length) {
    const c = rule[i] as string;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '(' || c === ')' || c === ',' || c === '!') {
      tokens.push({ kind: c, text: c });
      i += 1;
    } else if (rule.startsWith('&&', i) || rule.startsWith('||', i)) {
      tokens.push({ kind: rule.slice(i, i + 2) as '&&' | '||', text: rule.slice(i, i + 2) });
      i += 2;
    } else if (c === '`' || c === '"') {
      const end = rule.indexOf(c, i + 1);
      if (end < 0) return undefined;
      tokens.push({ kind: 'string', text: rule.slice(i + 1, end) });
      i = end + 1;
    } else {
      const name = /^[A-Za-z][A-Za-z0-9]*/.exec(rule.slice(i))?.[0];
      if (name === undefined) return undefined;
      tokens.push({ kind: 'name', text: name });
      i += name.length;
    }
  }
  return tokens;
}

/** Parse a Traefik rule; undefined when it is not a rule this check understands (refused). */
export function ruleHosts(rule: string): RuleHosts | undefined {
  const tokens = tokenize(rule);
  if (tokens === undefined || tokens.length === 0) return undefined;
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const fail = (): never => {
    throw new SyntaxError('rule');
  };
  const expect = (kind: Token['kind']): Token => {
    const token = tokens[pos];
    if (token?.kind !== kind) fail();
    pos += 1;
    return token as Token;
  };
  const or = (): RuleHosts => {
    let left = and();
    while (peek()?.kind === '||') {
      pos += 1;
      const right = and();
      left = left === 'any' || right === 'any' ? 'any' : new Set([...left, ...right]);
    }
    return left;
  };
  const and = (): RuleHosts => {
    let left = unary();
    while (peek()?.kind === '&&') {
      pos += 1;
      const right = unary();
      if (left === 'any') left = right;
      else if (right !== 'any') left = new Set([...left].filter((host) => right.has(host)));
    }
    return left;
  };
  const unary = (): RuleHosts => {
    const token = peek();
    if (token?.kind === '!') {
      pos += 1;
      unary();
      return 'any';
    }
    if (token?.kind === '(') {
      pos += 1;
      const inner = or();
      expect(')');
      return inner;
    }
    const name = expect('name').text;
    expect('(');
    const args: string[] = [];
    if (peek()?.kind !== ')') {
      args.push(expect('string').text);
      while (peek()?.kind === ',') {
        pos += 1;
        args.push(expect('string').text);
      }
    }
    expect(')');
    if (name === 'Host' || name === 'HostSNI') {
      if (args.length === 0 || args.some((host) => host === '*' || host.includes('{'))) return 'any';
      return new Set(args.map((host) => host.toLowerCase()));
    }
    return 'any';
  };
  try {
    const hosts = or();
    if (pos !== tokens.length) return undefined;
    return hosts;
  } catch (error: unknown) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

export interface LabelProblem {
  /** The offending label key. */
  key: string;
  message: string;
}

/** The Traefik entrypoints a client may use when the platform names none (the platform's `web` and `websecure`). */
export const DEFAULT_ENTRYPOINTS: readonly string[] = ['web', 'websecure'];

/** What a client's hand-written labels may refer to. */
export interface LabelScope {
  tenant: Tenant;
  /** The client's host names as the platform knows them (the `domain` settings). */
  domains: readonly string[];
  /** Networks Traefik may use to reach the service (the client's network and the stack's own, as Swarm names them). */
  networks: readonly string[];
  /** The shared Traefik's entrypoints a router may listen on. */
  entrypoints: readonly string[];
}

/** A value check: the problem with `value` (a phrase completing "label <key>: "), or undefined. */
type ValueCheck = (value: string, scope: LabelScope) => string | undefined;

/** A label key (the part after the object's name, lowercase) and the check of its value. */
type Field = readonly [RegExp, ValueCheck];

const NAME = /^[A-Za-z0-9_-]+$/;
const PROVIDER_SUFFIX = /@/;

const free: ValueCheck = () => undefined;

const bool: ValueCheck = (value) =>
  /^(true|false)$/i.test(value.trim()) ? undefined : `${showValue(value)} is not true or false`;

const port: ValueCheck = (value) => {
  const text = value.trim();
  return /^\d{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65535
    ? undefined
    : `${showValue(value)} is not a TCP port (1 to 65535)`;
};

/** Router priorities: Traefik's own routers (ACME challenges, the dashboard) sit near the top of the integer range. */
const PRIORITY_MAX = 100_000;
const priority: ValueCheck = (value) =>
  /^\d{1,6}$/.test(value.trim()) && Number(value.trim()) <= PRIORITY_MAX
    ? undefined
    : `${showValue(value)} is not a priority from 0 to ${PRIORITY_MAX}`;

const token: ValueCheck = (value) =>
  TOKEN.test(value) && value.length <= 64
    ? undefined
    : `${showValue(value)} may contain only letters, digits, '_' and '-'`;

const oneOf =
  (...allowed: string[]): ValueCheck =>
  (value) =>
    allowed.includes(value.trim().toLowerCase())
      ? undefined
      : `${showValue(value)} is not one of ${allowed.join(', ')}`;

function items(value: string): string[] {
  return value.split(',').map((item) => item.trim());
}

/** A reference to a router, service or middleware: one of the client's own names, with no `@provider`. */
const ownName: ValueCheck = (value, { tenant }) => {
  const name = value.trim();
  if (PROVIDER_SUFFIX.test(name)) {
    return `${showValue(value)} refers to an object of another provider ("@..."); references stay inside the client's stack`;
  }
  if (!NAME.test(name)) return `${showValue(value)} is not a Traefik name (letters, digits, '_' and '-')`;
  if (!tenant.ownsRouter(name)) {
    return `${showValue(value)} is not one of the client's names ("${tenant.routerPrefix}...")`;
  }
  return undefined;
};

const ownNames: ValueCheck = (value, scope) => {
  for (const item of items(value)) {
    const problem = ownName(item, scope);
    if (problem !== undefined) return problem;
  }
  return undefined;
};

function knownDomains({ domains }: LabelScope): string {
  return domains.length > 0 ? domains.join(', ') : 'none given';
}

/** A host name (TLS domains): one of the client's domains; with none known, none is. */
const ownDomains: ValueCheck = (value, scope) => {
  const allowed = new Set(scope.domains.map((domain) => domain.toLowerCase()));
  const foreign = items(value).filter((host) => !allowed.has(host.toLowerCase()));
  return foreign.length === 0
    ? undefined
    : `${showValue(foreign.join(', '))} is not among the client's domains (${knownDomains(scope)})`;
};

/**
 * An address Traefik itself calls (forwardauth): http(s) on the default port of one of the
 * client's domains. Traefik sits on every client's network, so any other address would let a
 * client make it call another tenant's services, the nodes or the cloud's metadata endpoint.
 */
const ownAddress: ValueCheck = (value, scope) => {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return `${showValue(value)} is not a URL`;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.port !== '' || url.username !== '') {
    return `${showValue(value)} must be an http(s) URL on the default port, without credentials`;
  }
  const problem = ownDomains(url.hostname, scope);
  return problem === undefined
    ? undefined
    : `the address ${showValue(value)} is not on one of the client's domains (${knownDomains(scope)})`;
};

/** A path of the errors middleware (appended to its service's address). */
const path: ValueCheck = (value) =>
  /^\/[^\s]*$/.test(value) && !value.includes('//') && !value.includes('@')
    ? undefined
    : `${showValue(value)} is not a path starting with '/'`;

const entrypoints: ValueCheck = (value, scope) => {
  const foreign = items(value).filter((entrypoint) => !scope.entrypoints.includes(entrypoint));
  return foreign.length === 0
    ? undefined
    : `${showValue(value)} names entrypoints outside the platform's (${scope.entrypoints.join(', ')})`;
};

const network: ValueCheck = (value, scope) =>
  scope.networks.includes(value) ? undefined : `network ${showValue(value)} is not one of the client's networks`;

const rule: ValueCheck = (value, scope) => {
  const hosts = ruleHosts(value);
  if (hosts === undefined) return `the rule ${showValue(value)} could not be checked`;
  if (hosts === 'any') {
    return `the rule ${showValue(value)} does not restrict the host to the client's domains (use Host(\`...\`))`;
  }
  const allowed = new Set(scope.domains.map((domain) => domain.toLowerCase()));
  const foreign = [...hosts].filter((host) => !allowed.has(host));
  if (foreign.length === 0) return undefined;
  return `routes ${foreign.join(', ')}, which ${foreign.length === 1 ? 'is' : 'are'} not among the client's domains (${knownDomains(scope)})`;
};

/** Labels outside any named object. */
const GLOBAL: Record<string, ValueCheck> = {
  'traefik.enable': bool,
  'traefik.swarm.network': network,
  'traefik.docker.network': network,
  'traefik.swarm.lbswarm': bool,
};

const ROUTER: readonly Field[] = [
  [/^rule$/, rule],
  [/^entrypoints$/, entrypoints],
  [/^tls$/, bool],
  [/^tls\.certresolver$/, token],
  [/^tls\.domains\[\d+\]\.(main|sans)$/, ownDomains],
  [/^service$/, ownName],
  [/^priority$/, priority],
];

/**
 * What a client may set per kind of named object. Not here, so refused: a service's
 * `loadbalancer.server.url` and `serverstransport` (any address, another provider's transport),
 * a router's `tls.options` (the platform's TLS settings, by `@file` name), `ruleSyntax`,
 * TCP middlewares, UDP, and `serverstransports`.
 */
const FIELDS: Record<string, Record<string, readonly Field[]>> = {
  http: {
    routers: [...ROUTER, [/^middlewares$/, ownNames]],
    services: [
      [/^loadbalancer\.server\.port$/, port],
      [/^loadbalancer\.server\.scheme$/, oneOf('http', 'https', 'h2c')],
      [/^loadbalancer\.passhostheader$/, bool],
      [/^loadbalancer\.sticky\.cookie$/, bool],
      [/^loadbalancer\.sticky\.cookie\.(name|secure|httponly|samesite|maxage|path)$/, free],
      [
        /^loadbalancer\.healthcheck\.(path|interval|timeout|scheme|mode|port|hostname|followredirects|method|status)$/,
        free,
      ],
      [/^loadbalancer\.responseforwarding\.flushinterval$/, free],
    ],
  },
  tcp: {
    routers: [...ROUTER, [/^tls\.passthrough$/, bool]],
    services: [[/^loadbalancer\.server\.port$/, port]],
  },
};

const SOURCE_CRITERION: Field = [
  /^sourcecriterion\.(requesthost|requestheadername|ipstrategy\.(depth|excludedips|ipv6subnet))$/,
  free,
];

/**
 * The HTTP middleware types a client may declare, and their options. Each only shapes requests
 * and responses of the client's own routers. Left out, so refused: `plugin` (third-party code
 * run inside the shared Traefik), `basicauth.usersfile` / `digestauth.usersfile` (files on
 * Traefik's node), `forwardauth.tls.*` (Traefik's client certificate and CA files), `ratelimit.redis.*`
 * (an address Traefik would connect to), and types Traefik v3 no longer has (`ipwhitelist`).
 * Addresses Traefik calls are the client's own: `forwardauth.address` on one of its domains,
 * `errors.service` one of its services.
 */
const MIDDLEWARES: Record<string, readonly Field[]> = {
  addprefix: [[/^prefix$/, free]],
  stripprefix: [[/^(prefixes|forceslash)$/, free]],
  stripprefixregex: [[/^regex$/, free]],
  replacepath: [[/^path$/, free]],
  replacepathregex: [[/^(regex|replacement)$/, free]],
  redirectscheme: [[/^(scheme|port|permanent)$/, free]],
  redirectregex: [[/^(regex|replacement|permanent)$/, free]],
  headers: [[/^[a-z0-9_.-]+$/, free]],
  compress: [[/^(excludedcontenttypes|includedcontenttypes|minresponsebodybytes|encodings|defaultencoding)$/, free]],
  basicauth: [[/^(users|realm|removeheader|headerfield)$/, free]],
  digestauth: [[/^(users|realm|removeheader|headerfield)$/, free]],
  ratelimit: [[/^(average|period|burst)$/, free], SOURCE_CRITERION],
  inflightreq: [[/^amount$/, free], SOURCE_CRITERION],
  ipallowlist: [[/^(sourcerange|rejectstatuscode|ipstrategy\.(depth|excludedips|ipv6subnet))$/, free]],
  retry: [[/^(attempts|initialinterval)$/, free]],
  buffering: [
    [/^(maxrequestbodybytes|memrequestbodybytes|maxresponsebodybytes|memresponsebodybytes|retryexpression)$/, free],
  ],
  circuitbreaker: [[/^(expression|checkperiod|fallbackduration|recoveryduration|responsecode)$/, free]],
  contenttype: [[/^autodetect$/, free]],
  grpcweb: [[/^alloworigins$/, free]],
  chain: [[/^middlewares$/, ownNames]],
  errors: [
    [/^(status|statusrewrites\.[a-z0-9_-]+)$/, free],
    [/^service$/, ownName],
    [/^query$/, path],
  ],
  forwardauth: [
    [/^address$/, ownAddress],
    [
      /^(trustforwardheader|authresponseheaders|authresponseheadersregex|authrequestheaders|addauthcookiestoresponse|headerfield|forwardbody|maxbodysize|preserverequestmethod|preservelocationheader)$/,
      free,
    ],
  ],
};

const NOT_ALLOWED = 'not a label a client may set (see the allowed Traefik labels)';

/** `traefik.<protocol>.<kind>.<name>.<field>` */
const NAMED = /^traefik\.([a-z]+)\.([a-z]+)\.([^.]+)\.(.+)$/i;

/** The problem with one `traefik.*` label, or undefined when the allow-list admits it. */
function labelProblem(key: string, value: string, scope: LabelScope): string | undefined {
  const global = GLOBAL[key.toLowerCase()];
  if (global !== undefined) return global(value, scope);
  const named = NAMED.exec(key);
  if (named === null) return NOT_ALLOWED;
  const protocol = (named[1] as string).toLowerCase();
  const kind = (named[2] as string).toLowerCase();
  const name = named[3] as string;
  const field = (named[4] as string).toLowerCase();
  if (protocol === 'udp') return 'UDP routers match a whole entrypoint and are not allowed';
  if (!NAME.test(name)) {
    return `the name ${showValue(name)} is not a plain Traefik name (letters, digits, '_' and '-'; no "@provider")`;
  }
  if (!scope.tenant.ownsRouter(name)) {
    return `Traefik ${kind} names must start with "${scope.tenant.routerPrefix}" so they cannot collide with another client's`;
  }
  let fields: readonly Field[] | undefined = FIELDS[protocol]?.[kind];
  let option = field;
  if (protocol === 'http' && kind === 'middlewares') {
    const type = field.split('.', 1)[0] as string;
    fields = MIDDLEWARES[type];
    if (fields === undefined) {
      return `middleware type ${showValue(type)} is not allowed (allowed: ${Object.keys(MIDDLEWARES).join(', ')})`;
    }
    option = field.slice(type.length + 1);
  }
  const check = fields?.find(([pattern]) => pattern.test(option))?.[1];
  if (check === undefined) return NOT_ALLOWED;
  return check(value, scope);
}

/**
 * Check hand-written `traefik.*` labels of one service against the allow-list: every key must be
 * one a client may set, on an object named in the client's namespace, with a value that stays
 * inside the client's stack, domains and the platform's entrypoints. Keys are matched without
 * case, and anything that starts with `traefik.` after spaces counts as a Traefik label.
 */
export function checkTraefikLabels(labels: Readonly<Record<string, unknown>>, scope: LabelScope): LabelProblem[] {
  const problems: LabelProblem[] = [];
  for (const [key, raw] of Object.entries(labels)) {
    if (!key.trimStart().toLowerCase().startsWith('traefik.')) continue;
    const value = raw === null || raw === undefined ? '' : String(raw);
    const problem = labelProblem(key, value, scope);
    // A key with spaces or control characters is shown escaped, so it cannot forge a log line.
    const shown = /^[\x21-\x7e]+$/.test(key) ? key : showValue(key, 120);
    if (problem !== undefined) problems.push({ key, message: `label ${shown}: ${problem}` });
  }
  return problems;
}
