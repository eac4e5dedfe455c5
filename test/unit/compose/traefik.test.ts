import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { checkTraefikLabels, ruleHosts, traefikLabels } from '../../../src/compose/traefik.js';
import { validateDomain } from '../../../src/core/names.js';
import { Tenant } from '../../../src/core/tenant.js';
import { actionSpelling } from '../../support/errors.js';

describe('ruleHosts', () => {
  test.each([
    ['Host(`a.example.com`)', ['a.example.com']],
    ['Host("a.example.com")', ['a.example.com']],
    ['Host(`A.Example.COM`)', ['a.example.com']],
    ['Host(`a.com`) || Host(`b.com`)', ['a.com', 'b.com']],
    ['Host(`a.com`, `b.com`)', ['a.com', 'b.com']],
    ['Host(`a.com`) && PathPrefix(`/api`)', ['a.com']],
    ['PathPrefix(`/api`) && Host(`a.com`)', ['a.com']],
    ['(Host(`a.com`) || Host(`b.com`)) && Host(`a.com`)', ['a.com']],
    ['(Host(`a.com`) || Host(`b.com`)) && !PathPrefix(`/admin`)', ['a.com', 'b.com']],
    ['HostSNI(`a.com`)', ['a.com']],
    ['Host(`a.com`) && Host(`b.com`)', []],
  ])('%s routes %j', (rule, hosts) => {
    const result = ruleHosts(rule);
    expect(result).toBeInstanceOf(Set);
    expect([...(result as Set<string>)].sort()).toStrictEqual(hosts);
  });

  test.each([
    'PathPrefix(`/`)',
    'Host(`a.com`) || PathPrefix(`/`)',
    '!Host(`a.com`)',
    'HostRegexp(`.+`)',
    'HostSNI(`*`)',
    'Host()',
    'Host(`{sub:[a-z]+}.a.com`)',
    'Header(`Host`, `a.com`)',
    'ClientIP(`10.0.0.0/8`)',
  ])('%s matches other hosts', (rule) => {
    expect(ruleHosts(rule)).toBe('any');
  });

  test.each([
    '',
    'Host(',
    'Host(`a.com`',
    'Host(`a.com`) extra',
    'Host(`a.com`) ||',
    'Host(a.com)',
    '&& Host(`a`)',
    'Host(`a`);',
  ])('%j cannot be checked', (rule) => {
    expect(ruleHosts(rule)).toBeUndefined();
  });
});

describe('traefikLabels', () => {
  test('one domain, no entrypoint or resolver', () => {
    expect(
      traefikLabels({ tenant: Tenant.parse('acme'), service: 'web', domains: ['acme.example.com'], port: 8080 }),
    ).toStrictEqual({
      'traefik.enable': 'true',
      'traefik.http.routers.acme_web.rule': 'Host(`acme.example.com`)',
      'traefik.http.routers.acme_web.service': 'acme_web',
      'traefik.http.services.acme_web.loadbalancer.server.port': '8080',
      'traefik.swarm.network': 'acme-net',
    });
  });

  test('several domains, entrypoint and certificate resolver; dots in the service name', () => {
    const labels = traefikLabels({
      tenant: Tenant.parse('acme'),
      service: 'web.v2',
      domains: ['a.example.com', 'B.example.com'],
      port: 3000,
      entrypoint: 'websecure',
      certResolver: 'letsencrypt',
    });
    expect(labels['traefik.http.routers.acme_web-v2.rule']).toBe('Host(`a.example.com`) || Host(`b.example.com`)');
    expect(labels['traefik.http.routers.acme_web-v2.entrypoints']).toBe('websecure');
    expect(labels['traefik.http.routers.acme_web-v2.tls.certresolver']).toBe('letsencrypt');
    expect(labels['traefik.http.services.acme_web-v2.loadbalancer.server.port']).toBe('3000');
  });

  test.each([
    [{ domains: ['a.com`) || PathPrefix(`/'] }, 'domain'],
    [{ domains: ['*.a.com'] }, 'domain'],
    [{ port: 0 }, 'service-port'],
    [{ port: 70000 }, 'service-port'],
    [{ port: 80.5 }, 'service-port'],
    [{ entrypoint: 'web secure' }, 'entrypoint'],
    [{ certResolver: 'le`' }, 'cert-resolver'],
  ])('refuses %j naming the input', (override, input) => {
    const route = { tenant: Tenant.parse('acme'), service: 'web', domains: ['a.com'], port: 80, ...override };
    try {
      traefikLabels(route);
      expect.unreachable();
    } catch (error: unknown) {
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).field).toBe(input);
    }
  });
});

describe('validateDomain', () => {
  test.each([
    ['example.com', 'example.com'],
    ['API.Example.com', 'api.example.com'],
    ['a-b.c-d.example', 'a-b.c-d.example'],
    ['localhost', 'localhost'],
  ])('%s', (domain, expected) => {
    expect(validateDomain(domain)).toBe(expected);
  });

  test.each([
    '',
    'a..b',
    '-a.com',
    'a-.com',
    'a_b.com',
    'a.com.',
    'a b.com',
    'a`.com',
    '*.a.com',
    'exаmple.com',
    `${'a'.repeat(64)}.com`,
  ])('refuses %j', (domain) => {
    expect(actionSpelling(() => validateDomain(domain))).toMatch(/Input "domain"/);
  });
});

describe('checkTraefikLabels', () => {
  const scope = {
    tenant: Tenant.parse('acme'),
    domains: ['acme.example.com', 'www.acme.example.com'],
    networks: ['acme-net', 'acme_back'],
    entrypoints: ['web', 'websecure'],
  };
  const check = (labels: Record<string, string>, override: Partial<typeof scope> = {}) =>
    checkTraefikLabels(labels, { ...scope, ...override }).map((problem) => problem.message);
  const router = 'traefik.http.routers.acme_web';
  const mw = 'traefik.http.middlewares.acme_mw';

  test.each([
    [{ 'traefik.enable': 'true' }, []],
    [{ 'traefik.enable': 'yes' }, ['is not true or false']],
    [{ [`${router}.rule`]: 'Host(`acme.example.com`)' }, []],
    [{ 'traefik.http.routers.acme_www.rule': 'Host(`www.acme.example.com`) && PathPrefix(`/x`)' }, []],
    [{ [`${router}.rule`]: 'Host(`globex.com`)' }, ['routes globex.com']],
    [{ [`${router}.rule`]: 'Host(`ACME.example.com`) || Host(`Globex.COM`)' }, ['routes globex.com']],
    [{ [`${router}.rule`]: 'Host("globex.com")' }, ['routes globex.com']],
    [{ [`${router}.rule`]: 'Host( `acme.example.com` )  ||  Host(`globex.com`)' }, ['routes globex.com']],
    [{ [`${router}.rule`]: 'Host(`acme.example.com `)' }, ['routes acme.example.com ']],
    [{ [`${router}.rule`]: 'Host(`acme.example.com`) || Host(`globex.com`)' }, ['routes globex.com']],
    [{ [`${router}.rule`]: 'HostRegexp(`^.+\\.example\\.com$`)' }, ['does not restrict the host']],
    [{ [`${router}.rule`]: 'PathPrefix(`/`)' }, ['does not restrict the host']],
    [{ [`${router}.rule`]: 'Host(`acme.example.com`' }, ['could not be checked']],
    [{ [`${router}.rule`]: 'Host(`acme.example.com`) || Host(`x`)`' }, ['could not be checked']],
    [{ 'traefik.tcp.routers.acme_db.rule': 'HostSNI(`*`)' }, ['does not restrict the host']],
    [{ 'traefik.tcp.routers.acme_db.rule': 'HostSNI(`acme.example.com`)' }, []],
    [{ 'traefik.tcp.routers.acme_db.tls.passthrough': 'true' }, []],
    [{ 'traefik.http.routers.web.rule': 'Host(`acme.example.com`)' }, ['names must start with "acme_"']],
    [{ 'traefik.http.middlewares.auth.basicauth.users': 'x' }, ['names must start with "acme_"']],
    [{ 'traefik.http.services.globex_web.loadbalancer.server.port': '80' }, ['names must start with "acme_"']],
    [{ 'traefik.http.routers.acme-eu_web.rule': 'Host(`acme.example.com`)' }, ['names must start with "acme_"']],
    [{ 'traefik.http.services.acme-web.loadbalancer.server.port': '80' }, ['names must start with "acme_"']],
    [{ 'traefik.http.routers.acme_web@swarm.rule': 'Host(`acme.example.com`)' }, ['not a plain Traefik name']],
    [{ 'traefik.udp.routers.acme_dns.entrypoints': 'dns' }, ['UDP routers']],
    [{ 'traefik.swarm.network': 'acme-net' }, []],
    [{ 'traefik.swarm.network': 'acme_back' }, []],
    [{ 'traefik.swarm.network': 'globex-net' }, ['not one of the client']],
    [{ 'traefik.docker.network': 'host' }, ['not one of the client']],
    [{ 'other.label': 'Host(`globex.com`)' }, []],
    // Keys outside the allow-list, in several spellings.
    [
      { 'traefik.http.services.acme_web.loadbalancer.server.url': 'http://169.254.169.254/' },
      ['not a label a client may set'],
    ],
    [
      { 'traefik.http.services.acme_web.loadbalancer.serverstransport': 'insecure@file' },
      ['not a label a client may set'],
    ],
    [{ [`${router}.tls.options`]: 'default@file' }, ['not a label a client may set']],
    [{ [`${router}.rulesyntax`]: 'v2' }, ['not a label a client may set']],
    [{ 'traefik.http.serverstransports.acme_t.insecureskipverify': 'true' }, ['not a label a client may set']],
    [{ 'traefik.tcp.middlewares.acme_ip.ipallowlist.sourcerange': '0.0.0.0/0' }, ['not a label a client may set']],
    [{ 'traefik.swarm.constraints': 'x' }, ['not a label a client may set']],
    [{ 'Traefik.HTTP.Services.acme_web.LoadBalancer.Server.URL': 'http://10.0.0.1' }, ['not a label a client may set']],
    [{ [`${router}.rule `]: 'Host(`acme.example.com`)' }, ['not a label a client may set']],
    [{ ' traefik.http.routers.acme_web.rule': 'PathPrefix(`/`)' }, ['not a label a client may set']],
    [{ 'TRAEFIK.HTTP.ROUTERS.ACME_WEB.RULE': 'Host(`globex.com`)' }, ['routes globex.com']],
    // References stay inside the client's stack.
    [{ [`${router}.service`]: 'acme_web' }, []],
    [{ [`${router}.service`]: 'api@internal' }, ['another provider']],
    [{ [`${router}.service`]: 'dashboard@internal' }, ['another provider']],
    [{ [`${router}.service`]: 'acme_web@swarm' }, ['another provider']],
    [{ [`${router}.service`]: 'acme_web@docker' }, ['another provider']],
    [{ [`${router}.service`]: 'globex_web' }, ['not one of the client\'s names ("acme_...")']],
    [{ [`${router}.service`]: 'globex-web' }, ["not one of the client's names"]],
    [{ [`${router}.service`]: 'acme-eu_web' }, ["not one of the client's names"]],
    [{ [`${router}.middlewares`]: 'acme_auth, acme_mw' }, []],
    [{ [`${router}.middlewares`]: 'acme_auth,auth@file' }, ['another provider']],
    [{ [`${router}.middlewares`]: 'acme_auth, globex_auth' }, ['"globex_auth" is not one of the client\'s names']],
    [{ [`${mw}.chain.middlewares`]: 'acme_a,secure-headers@file' }, ['another provider']],
    [{ [`${mw}.chain.middlewares`]: 'acme_a, acme_b' }, []],
    // Entrypoints from the platform's list.
    [{ [`${router}.entrypoints`]: 'websecure' }, []],
    [{ [`${router}.entrypoints`]: 'web, websecure' }, []],
    [{ [`${router}.entrypoints`]: 'traefik' }, ["outside the platform's (web, websecure)"]],
    [{ [`${router}.entrypoints`]: 'websecure,metrics' }, ["outside the platform's"]],
    // Values of the allowed keys.
    [{ [`${router}.tls`]: 'true' }, []],
    [{ [`${router}.tls.certresolver`]: 'letsencrypt' }, []],
    [{ [`${router}.tls.certresolver`]: 'le`' }, ['may contain only']],
    [{ [`${router}.priority`]: '10' }, []],
    [{ [`${router}.priority`]: '2147483647' }, ['is not a priority']],
    [{ 'traefik.http.services.acme_web.loadbalancer.server.port': '8080' }, []],
    [{ 'traefik.http.services.acme_web.loadbalancer.server.port': '0' }, ['not a TCP port']],
    [{ 'traefik.http.services.acme_web.loadbalancer.server.scheme': 'h2c' }, []],
    [{ 'traefik.http.services.acme_web.loadbalancer.server.scheme': 'file' }, ['is not one of http, https, h2c']],
    // TLS domains are the client's own.
    [{ [`${router}.tls.domains[0].main`]: 'acme.example.com' }, []],
    [{ [`${router}.tls.domains[0].sans`]: 'www.acme.example.com, ACME.example.com' }, []],
    [{ [`${router}.tls.domains[0].main`]: 'globex.com' }, ["not among the client's domains"]],
    [
      { [`${router}.tls.domains[1].sans`]: 'www.acme.example.com,*.acme.example.com' },
      ['"*.acme.example.com" is not among'],
    ],
    // Middleware types: the safe ones, and those left out.
    [{ [`${mw}.headers.customrequestheaders.X-Script-Name`]: 'x' }, []],
    [{ [`${mw}.stripprefix.prefixes`]: '/api' }, []],
    [{ [`${mw}.basicauth.users`]: 'u:$apr1$x' }, []],
    [{ [`${mw}.basicauth.usersfile`]: '/etc/shadow' }, ['not a label a client may set']],
    [{ [`${mw}.plugin.evil.url`]: 'x' }, ['middleware type "plugin" is not allowed']],
    [{ [`${mw}.ipwhitelist.sourcerange`]: '0.0.0.0/0' }, ['middleware type "ipwhitelist" is not allowed']],
    [{ [`${mw}.ratelimit.redis.endpoints`]: '10.0.0.1:6379' }, ['not a label a client may set']],
    [{ [`${mw}.forwardauth.tls.cert`]: '/etc/traefik/acme.json' }, ['not a label a client may set']],
    // Addresses Traefik calls are the client's own.
    [{ [`${mw}.forwardauth.address`]: 'https://acme.example.com/auth' }, []],
    [{ [`${mw}.forwardauth.address`]: 'https://WWW.acme.example.com/auth' }, []],
    [
      { [`${mw}.forwardauth.address`]: 'http://169.254.169.254/latest/meta-data' },
      ["not on one of the client's domains"],
    ],
    [{ [`${mw}.forwardauth.address`]: 'http://globex_api:8080/auth' }, ['must be an http(s) URL on the default port']],
    [{ [`${mw}.forwardauth.address`]: 'http://globex_api/auth' }, ["not on one of the client's domains"]],
    [{ [`${mw}.forwardauth.address`]: 'https://acme.example.com@globex.com/' }, ['must be an http(s) URL']],
    [
      { [`${mw}.forwardauth.address`]: 'https://acme.example.com:8443/' },
      ['must be an http(s) URL on the default port'],
    ],
    [{ [`${mw}.forwardauth.address`]: 'file:///etc/passwd' }, ['must be an http(s) URL']],
    [{ [`${mw}.forwardauth.address`]: 'acme.example.com/auth' }, ['not a URL']],
    [{ [`${mw}.errors.service`]: 'acme_errors' }, []],
    [{ [`${mw}.errors.service`]: 'api@internal' }, ['another provider']],
    [{ [`${mw}.errors.service`]: 'globex_errors' }, ["not one of the client's names"]],
    [{ [`${mw}.errors.query`]: '/{status}.html' }, []],
    [{ [`${mw}.errors.query`]: '//globex.com/{status}' }, ['not a path']],
  ] as [Record<string, string>, string[]][])('%j', (labels, problems) => {
    const found = check(labels);
    expect(found).toHaveLength(problems.length);
    problems.forEach((problem, i) => expect(found[i]).toContain(problem));
  });

  test('every violation is reported, each with its key', () => {
    const found = checkTraefikLabels(
      {
        [`${router}.rule`]: 'Host(`globex.com`)',
        [`${router}.service`]: 'api@internal',
        'traefik.http.services.acme_web.loadbalancer.server.url': 'http://10.0.0.1',
      },
      scope,
    );
    expect(found.map((problem) => problem.key)).toStrictEqual([
      `${router}.rule`,
      `${router}.service`,
      'traefik.http.services.acme_web.loadbalancer.server.url',
    ]);
  });

  test('with no domains given, no hand-written rule, TLS domain or forwardauth address is allowed', () => {
    const found = check(
      {
        [`${router}.rule`]: 'Host(`acme.example.com`)',
        [`${router}.tls.domains[0].main`]: 'acme.example.com',
        [`${mw}.forwardauth.address`]: 'https://acme.example.com/auth',
      },
      { domains: [] },
    );
    expect(found).toHaveLength(3);
    for (const message of found) expect(message).toMatch(/\(none given\)/);
  });

  test('a key with a newline or spaces is shown escaped', () => {
    const found = check({ 'traefik.http.routers.acme_web.rule\n::error::forged': 'x', ' traefik.enable': 'true' });
    expect(found).toStrictEqual([
      'label "traefik.http.routers.acme_web.rule\\n::error::forged": not a label a client may set (see the allowed Traefik labels)',
      'label " traefik.enable": not a label a client may set (see the allowed Traefik labels)',
    ]);
  });

  test('the platform may name other entrypoints', () => {
    expect(check({ [`${router}.entrypoints`]: 'internal' }, { entrypoints: ['internal'] })).toStrictEqual([]);
    expect(check({ [`${router}.entrypoints`]: 'web' }, { entrypoints: ['internal'] })).toHaveLength(1);
  });
});
