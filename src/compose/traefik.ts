import { ConfigurationError } from '../core/errors.js';
import type { Tenant } from '../core/tenant.js';
import { showValue } from '../core/names.js';

/**
 * Traefik v3 on Swarm reads routing from service labels (`deploy.labels`) through its `swarm`
 * provider. The shared Traefik routes every tenant, so a label of one client can take traffic
 * meant for another (a rule on someone else's host, a rule with no host at all, a router name
 * that collides with another client's and makes Traefik drop both). Generated labels come from
 * validated inputs; hand-written ones are checked here.
 */

const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

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

/** An entrypoint or certificate resolver name as configured on the shared Traefik. */
export function validateTraefikToken(value: string, input: string): string {
  if (!TOKEN.test(value) || value.length > 64) {
    throw new ConfigurationError(`${showValue(value)} may contain only letters, digits, '_' and '-'`, input);
  }
  return value;
}

export function validatePort(port: number, input = 'port'): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigurationError(`${port} is not a TCP port (1 to 65535)`, input);
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

/** Kinds of named Traefik objects a label can define (`traefik.<protocol>.<kind>.<name>.…`). */
const NAMED = /^traefik\.(http|tcp|udp)\.(routers|services|middlewares|serverstransports)\.([^.]+)\./i;

/**
 * Check hand-written `traefik.*` labels of one service. `networks` are the networks Traefik may
 * use to reach it (the client's network and the stack's own networks, as Swarm names them).
 */
export function checkTraefikLabels(
  labels: Readonly<Record<string, unknown>>,
  tenant: Tenant,
  domains: readonly string[],
  networks: readonly string[],
): LabelProblem[] {
  const problems: LabelProblem[] = [];
  const allowed = new Set(domains.map((domain) => domain.toLowerCase()));
  for (const [key, raw] of Object.entries(labels)) {
    if (!key.toLowerCase().startsWith('traefik.')) continue;
    const value = raw === null || raw === undefined ? '' : String(raw);
    const lower = key.toLowerCase();
    const named = NAMED.exec(key);
    if (named !== null) {
      const protocol = (named[1] as string).toLowerCase();
      const name = named[3] as string;
      if (protocol === 'udp') {
        problems.push({ key, message: `label ${key}: UDP routers match a whole entrypoint and are not allowed` });
        continue;
      }
      if (!tenant.ownsRouter(name)) {
        problems.push({
          key,
          message: `label ${key}: Traefik ${named[2]} names must start with "${tenant.routerPrefix}" so they cannot collide with another client's`,
        });
        continue;
      }
    }
    if (/^traefik\.(http|tcp)\.routers\.[^.]+\.rule$/i.test(key)) {
      const hosts = ruleHosts(value);
      if (hosts === undefined) {
        problems.push({ key, message: `label ${key}: the rule ${showValue(value)} could not be checked` });
      } else if (hosts === 'any') {
        problems.push({
          key,
          message: `label ${key}: the rule ${showValue(value)} does not restrict the host to the client's domains (use Host(\`...\`))`,
        });
      } else {
        const foreign = [...hosts].filter((host) => !allowed.has(host));
        if (foreign.length > 0) {
          problems.push({
            key,
            message: `label ${key}: routes ${foreign.join(', ')}, which ${foreign.length === 1 ? 'is' : 'are'} not among the client's domains (${domains.length > 0 ? domains.join(', ') : 'none given'})`,
          });
        }
      }
    }
    if (lower === 'traefik.swarm.network' || lower === 'traefik.docker.network') {
      if (!networks.includes(value)) {
        problems.push({
          key,
          message: `label ${key}: network ${showValue(value)} is not one of the client's networks`,
        });
      }
    }
  }
  return problems;
}
