import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { checkTraefikLabels, ruleHosts, traefikLabels, validateDomain } from '../../../src/compose/traefik.js';
import { Tenant } from '../../../src/core/tenant.js';

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
      expect((error as ConfigurationError).input).toBe(input);
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
    expect(() => validateDomain(domain)).toThrow(/Input "domain"/);
  });
});

describe('checkTraefikLabels', () => {
  const domains = ['acme.example.com', 'www.acme.example.com'];
  const networks = ['acme-net', 'acme_back'];
  test.each([
    [{ 'traefik.enable': 'true' }, []],
    [{ 'traefik.http.routers.acme_web.rule': 'Host(`acme.example.com`)' }, []],
    [{ 'traefik.http.routers.acme_www.rule': 'Host(`www.acme.example.com`) && PathPrefix(`/x`)' }, []],
    [{ 'traefik.http.routers.acme_web.rule': 'Host(`globex.com`)' }, ['routes globex.com']],
    [{ 'traefik.http.routers.acme_web.rule': 'PathPrefix(`/`)' }, ['does not restrict the host']],
    [{ 'traefik.tcp.routers.acme_db.rule': 'HostSNI(`*`)' }, ['does not restrict the host']],
    [{ 'traefik.http.routers.acme_web.rule': 'Host(`acme.example.com`' }, ['could not be checked']],
    [{ 'traefik.http.routers.web.rule': 'Host(`acme.example.com`)' }, ['names must start with "acme_"']],
    [{ 'traefik.http.middlewares.auth.basicauth.users': 'x' }, ['names must start with "acme_"']],
    [{ 'traefik.http.services.globex_web.loadbalancer.server.port': '80' }, ['names must start with "acme_"']],
    [{ 'traefik.udp.routers.acme_dns.entrypoints': 'dns' }, ['UDP routers']],
    [{ 'traefik.http.routers.acme-eu_web.rule': 'Host(`acme.example.com`)' }, ['names must start with "acme_"']],
    [{ 'traefik.http.services.acme-web.loadbalancer.server.port': '80' }, ['names must start with "acme_"']],
    [{ 'traefik.swarm.network': 'acme-net' }, []],
    [{ 'traefik.swarm.network': 'acme_back' }, []],
    [{ 'traefik.swarm.network': 'globex-net' }, ['not one of the client']],
    [{ 'traefik.docker.network': 'host' }, ['not one of the client']],
    [{ 'other.label': 'Host(`globex.com`)' }, []],
  ])('%j', (labels, problems) => {
    const found = checkTraefikLabels(labels, Tenant.parse('acme'), domains, networks);
    expect(found).toHaveLength(problems.length);
    problems.forEach((problem, i) => expect(found[i]?.message).toContain(problem));
  });

  test('with no domains given, no hand-written rule is allowed', () => {
    const found = checkTraefikLabels(
      { 'traefik.http.routers.acme_web.rule': 'Host(`acme.example.com`)' },
      Tenant.parse('acme'),
      [],
      ['acme-net'],
    );
    expect(found[0]?.message).toMatch(/not among the client's domains \(none given\)/);
  });
});
