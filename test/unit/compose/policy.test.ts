import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import {
  ADVISORY_RULES,
  POLICY_RULES,
  applyDefaultLimits,
  bindSource,
  judgeStack,
  tierConstraint,
  validatePolicySettings,
} from '../../../src/compose/policy.js';
import type { PolicySettings } from '../../../src/compose/policy.js';
import { PolicyError, renderStack } from '../../../src/compose/stack.js';
import { Tenant } from '../../../src/core/tenant.js';
import { actionSpelling } from '../../support/errors.js';
import { acmePolicy, expectations, ymlFiles } from '../../support/corpus.js';

const fixtures = new URL('../../fixtures/policy/', import.meta.url);
const fixtureFiles = ymlFiles(fixtures);

const policy = acmePolicy;

function render(file: string, text: string, settings: PolicySettings) {
  return renderStack({
    tenant: Tenant.parse('acme'),
    file,
    text,
    image: 'registry.example.com/acme/web:1',
    env: new Map(),
    release: { id: 'r1', time: '2025-01-01T00:00:00Z' },
    policy: settings,
  });
}

describe('policy fixtures', () => {
  test('every refusing rule has its own fixture', () => {
    const refusing = POLICY_RULES.filter((rule) => !ADVISORY_RULES.includes(rule));
    for (const rule of refusing) expect(fixtureFiles).toContain(`${rule}.yml`);
  });

  test('docs/security.md names every rule', () => {
    const doc = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8');
    for (const rule of POLICY_RULES) expect(doc, rule).toContain(`\`${rule}\``);
  });

  test.each(fixtureFiles)('%s is refused with the right rules and lines', (name) => {
    const text = readFileSync(new URL(name, fixtures), 'utf8');
    const expected = expectations(text);
    expect(expected.length).toBeGreaterThan(0);
    if (POLICY_RULES.includes(name.replace('.yml', '') as (typeof POLICY_RULES)[number])) {
      expect(expected.map((e) => e.rule)).toContain(name.replace('.yml', ''));
    }
    let error: unknown;
    try {
      render(`deploy/${name}`, text, policy());
    } catch (caught: unknown) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PolicyError);
    expect(error).toBeInstanceOf(ConfigurationError);
    const violations = (error as PolicyError).violations;
    expect(violations.map((v) => ({ rule: v.rule, line: v.line }))).toStrictEqual(expected);
    for (const violation of violations) {
      expect(violation.severity).toBe('error');
      expect(violation.file).toBe(`deploy/${name}`);
      expect((error as Error).message).toContain(`deploy/${name}:${violation.line} [${violation.rule}]`);
    }
  });

  test('plain-key.yml is refused in warn mode too: a key Docker reads otherwise is never only a warning', () => {
    const text = readFileSync(new URL('plain-key.yml', fixtures), 'utf8');
    expect(() => render('plain-key.yml', text, policy({ mode: 'warn' }))).toThrow(PolicyError);
  });

  test.each(fixtureFiles.filter((name) => name !== 'plain-key.yml'))(
    '%s renders in warn mode, with the violations as warnings',
    (name) => {
      const text = readFileSync(new URL(name, fixtures), 'utf8');
      const rendered = render(name, text, policy({ mode: 'warn' }));
      const policyWarnings = rendered.warnings.filter((w) => !(ADVISORY_RULES as readonly string[]).includes(w.rule));
      expect(policyWarnings.map((w) => ({ rule: w.rule, line: w.line }))).toStrictEqual(expectations(text));
      expect(policyWarnings.every((w) => w.severity === 'warning')).toBe(true);
      expect(rendered.yaml.length).toBeGreaterThan(0);
    },
  );

  test('the Docker socket is named in the message', () => {
    const text = readFileSync(new URL('bind-mount.yml', fixtures), 'utf8');
    expect(() => render('bind-mount.yml', text, policy())).toThrow(
      /\/var\/run\/docker\.sock.*the Docker socket, which gives root/,
    );
  });

  test('published ports pass when allowed', () => {
    const text = readFileSync(new URL('published-ports.yml', fixtures), 'utf8');
    expect(render('p.yml', text, policy({ allowPublishedPorts: true })).services).toHaveLength(1);
  });

  test('an enterprise client may state its own tier constraint', () => {
    const text = readFileSync(new URL('placement.yml', fixtures), 'utf8');
    const rendered = render('p.yml', text, policy({ tier: 'enterprise' }));
    const web = (rendered.document.services as Record<string, { deploy: { placement: { constraints: string[] } } }>)
      .web;
    expect(web?.deploy.placement.constraints).toStrictEqual(['node.role == worker', 'node.labels.tier == enterprise']);
  });
});

describe('judgeStack', () => {
  const judge = (document: Record<string, unknown>, override: Partial<PolicySettings> = {}, supplied: string[] = []) =>
    judgeStack(
      { tenant: Tenant.parse('acme'), file: 's.yml', document, lineOf: () => 1, suppliedSecrets: new Set(supplied) },
      policy(override),
    ).map((v) => v.rule);
  const service = (fields: Record<string, unknown>) => ({ services: { web: { image: 'x', ...fields } } });

  test.each([
    ['clean', service({}), []],
    ['privileged: false', service({ privileged: false }), []],
    ['privileged: "true"', service({ privileged: 'true' }), ['privileged']],
    ['pid: service:db', service({ pid: 'service:db' }), ['host-namespace']],
    ['ipc: container:x', service({ ipc: 'container:x' }), ['host-namespace']],
    ['ipc: shareable', service({ ipc: 'shareable' }), []],
    ['userns_mode: host', service({ userns_mode: 'host' }), ['host-namespace']],
    ['uts: host', service({ uts: 'host' }), ['host-namespace']],
    ['cap_add: []', service({ cap_add: [] }), []],
    ['cap_drop only', service({ cap_drop: ['ALL'] }), []],
    ['devices: []', service({ devices: [] }), []],
    ['network_mode: bridge', service({ network_mode: 'bridge' }), ['network-mode']],
    ['named volume', { ...service({ volumes: ['data:/d'] }), volumes: { data: {} } }, []],
    ['anonymous volume', service({ volumes: ['/data'] }), []],
    ['tmpfs', service({ volumes: [{ type: 'tmpfs', target: '/tmp' }] }), []],
    ['relative bind', service({ volumes: ['../../etc:/x'] }), ['bind-mount']],
    ['home bind', service({ volumes: ['~/.ssh:/x:ro'] }), ['bind-mount']],
    ['long bind without type', service({ volumes: [{ source: '/etc', target: '/x' }] }), ['bind-mount']],
    [
      'npipe',
      service({ volumes: [{ type: 'npipe', source: '\\\\.\\pipe\\docker_engine', target: '/x' }] }),
      ['bind-mount'],
    ],
    ['own volume with explicit name', { ...service({}), volumes: { d: { name: 'acme_data' } } }, []],
    [
      'volume named after another stack',
      { ...service({}), volumes: { d: { name: 'globex_data' } } },
      ['foreign-volume'],
    ],
    ['client network external', { ...service({}), networks: { n: { external: true, name: 'acme-net' } } }, []],
    [
      'external network by key',
      { ...service({}), networks: { 'globex-net': { external: true } } },
      ['foreign-network'],
    ],
    [
      'v3.4 external name form',
      { ...service({}), networks: { n: { external: { name: 'globex-net' } } } },
      ['foreign-network'],
    ],
    ['own network named in namespace', { ...service({}), networks: { n: { name: 'acme_back' } } }, []],
    [
      'own network named like another',
      { ...service({}), networks: { n: { name: 'globex_back' } } },
      ['foreign-network'],
    ],
    ['own network named ingress', { ...service({}), networks: { n: { name: 'ingress' } } }, ['host-network']],
    ['own network with host driver', { ...service({}), networks: { n: { driver: 'host' } } }, ['host-network']],
    ['own overlay network', { ...service({}), networks: { n: { driver: 'overlay' } } }, []],
    ['service joins host undeclared', service({ networks: ['host'] }), ['host-network']],
    ['own secret external', { ...service({}), secrets: { s: { external: true, name: 'acme_s_1234abcd' } } }, []],
    [
      'external secret by key of another',
      { ...service({}), secrets: { globex_s: { external: true } } },
      ['foreign-secret'],
    ],
    [
      'supplied secret marked external',
      { ...service({}), secrets: { s: { external: true, name: 'other' } } },
      [],
      ['s'],
    ],
    ['ports long syntax', service({ ports: [{ target: 80, published: 8080, mode: 'host' }] }), ['published-ports']],
    ['ports allowed', service({ ports: ['80'] }), [], [], { allowPublishedPorts: true }],
    ['security_opt no-new-privileges', service({ security_opt: ['no-new-privileges:true'] }), []],
    ['apparmor unconfined', service({ security_opt: ['apparmor=unconfined'] }), ['security-opt']],
    [
      'label list form with a foreign host',
      service({ deploy: { labels: ['traefik.http.routers.acme_x.rule=Host(`evil.com`)'] } }),
      ['traefik-labels'],
    ],
    [
      'container labels are checked too',
      service({ labels: { 'traefik.http.routers.acme_x.rule': 'Host(`evil.com`)' } }),
      ['traefik-labels'],
    ],
    [
      'list-form labels referring to another provider',
      service({ deploy: { labels: ['traefik.http.routers.acme_x.service=api@internal', 'traefik.enable=true'] } }),
      ['traefik-labels'],
    ],
    [
      'a key outside the allow-list, in capitals',
      service({ deploy: { labels: { 'TRAEFIK.http.services.acme_x.loadBalancer.server.URL': 'http://10.0.0.1' } } }),
      ['traefik-labels'],
    ],
    [
      'an entrypoint the platform names',
      service({ deploy: { labels: { 'traefik.http.routers.acme_x.entrypoints': 'internal' } } }),
      [],
      [],
      { entrypoints: ['internal'] },
    ],
    [
      "another client's router name",
      service({ deploy: { labels: { 'traefik.http.routers.acme-eu_x.rule': 'Host(`acme.example.com`)' } } }),
      ['traefik-labels'],
    ],
    [
      'tier constraint when no tier is set',
      service({ deploy: { placement: { constraints: ['node.labels.tier==standard'] } } }),
      ['placement'],
      [],
      { tier: undefined },
    ],
    [
      'same constraint as the tier',
      service({ deploy: { placement: { constraints: ['node.labels.tier!=enterprise'] } } }),
      [],
    ],
    [
      'a manager constraint passes when the platform allows managers',
      service({ deploy: { placement: { constraints: ['node.role == manager'] } } }),
      [],
      [],
      { allowManagerPlacement: true },
    ],
    [
      'node.role == worker and != manager pass',
      service({ deploy: { placement: { constraints: ['node.role==worker', 'node.role != manager'] } } }),
      [],
    ],
    ['replicas at the default maximum pass', service({ deploy: { replicas: 10 } }), []],
    ['replicas above a lower maximum', service({ deploy: { replicas: 4 } }), ['replicas'], [], { maxReplicas: 3 }],
    ['replicas under a higher maximum', service({ deploy: { replicas: 40 } }), [], [], { maxReplicas: 50 }],
    ['mode: replicated-job (a one-shot job)', service({ deploy: { mode: 'replicated-job' } }), ['deploy-mode']],
    ['logging with no driver and rotation options', service({ logging: { options: { 'max-size': '1m' } } }), []],
    ['logging driver none', service({ logging: { driver: 'none' } }), ['logging']],
    ['extra_hosts to an address', service({ extra_hosts: ['db:10.0.0.2', 'x=10.0.0.3'] }), []],
    ['sysctls empty mapping', service({ sysctls: {} }), ['sysctls']],
    ['x- service keys', service({ 'x-anything': { privileged: true } }), []],
    ['an unknown service key', service({ volume_driver: 'nfs' }), ['service-key']],
    [
      'a tmpfs volume with an unknown option',
      { ...service({}), volumes: { v: { driver_opts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m,exec=x' } } } },
      ['volume-driver'],
    ],
    [
      'network attachable and internal pass',
      { ...service({}), networks: { n: { driver: 'overlay', attachable: true, internal: true } } },
      [],
    ],
  ] as [string, Record<string, unknown>, string[], string[]?, Partial<PolicySettings>?][])(
    '%s',
    (_title, document, rules, supplied = [], override = {}) => {
      expect(judge(document, override, supplied)).toStrictEqual(rules);
    },
  );

  test('violations carry the service, the line and are sorted by line', () => {
    const lines: Record<string, number> = { 'services.a.privileged': 9, 'services.b.cap_add': 4 };
    const violations = judgeStack(
      {
        tenant: Tenant.parse('acme'),
        file: 's.yml',
        document: { services: { a: { image: 'x', privileged: true }, b: { image: 'x', cap_add: ['NET_ADMIN'] } } },
        lineOf: (path) => lines[path.join('.')],
      },
      policy(),
    );
    expect(violations.map((v) => [v.rule, v.service, v.line])).toStrictEqual([
      ['cap-add', 'b', 4],
      ['privileged', 'a', 9],
    ]);
  });
});

describe('bindSource', () => {
  test.each([
    ['/var/run/docker.sock:/var/run/docker.sock', '/var/run/docker.sock'],
    ['./x:/x', './x'],
    ['C:\\data:/data', 'C:\\data'],
    ['data:/data', undefined],
    ['/data', undefined],
    [{ type: 'bind', source: '/srv', target: '/srv' }, '/srv'],
    [{ type: 'volume', source: 'data', target: '/srv' }, undefined],
  ])('%j', (volume, source) => {
    expect(bindSource(volume)).toBe(source);
  });
});

describe('applyDefaultLimits', () => {
  test.each([
    [
      {},
      { cpus: '0.5', memory: '256M' },
      { cpus: '0.5', memory: '256M' },
      /default limits applied \(cpus: 0.5, memory: 256M\)/,
    ],
    [
      { deploy: { resources: { limits: { cpus: '2' } } } },
      { cpus: '0.5', memory: '256M' },
      { cpus: '2', memory: '256M' },
      /memory: 256M/,
    ],
    [
      { deploy: { resources: { limits: { cpus: '2', memory: '1G' } } } },
      { cpus: '0.5', memory: '256M' },
      { cpus: '2', memory: '1G' },
      undefined,
    ],
    [{}, {}, undefined, /no cpus or memory limit and no default given/],
    [{}, { cpus: '1' }, { cpus: '1' }, /cpus: 1.*no memory limit/],
  ] as [Record<string, unknown>, { cpus?: string; memory?: string }, unknown, RegExp | undefined][])(
    '%j with defaults %j',
    (service, defaults, limits, warning) => {
      const copy = structuredClone(service) as Record<string, unknown>;
      const result = applyDefaultLimits(
        copy,
        'web',
        policy({ defaultCpus: defaults.cpus, defaultMemory: defaults.memory }),
        's.yml',
        3,
      );
      const deploy = copy.deploy as { resources?: { limits?: unknown } } | undefined;
      expect(deploy?.resources?.limits).toStrictEqual(limits);
      if (warning === undefined) {
        expect(result).toBeUndefined();
      } else {
        expect(result?.message).toMatch(warning);
        expect(result).toMatchObject({
          rule: 'default-limits',
          severity: 'warning',
          service: 'web',
          line: 3,
          file: 's.yml',
        });
      }
    },
  );
});

describe('validatePolicySettings and tierConstraint', () => {
  test.each([
    [{ defaultCpus: 'two' }, 'default-cpus'],
    [{ defaultCpus: '0' }, 'default-cpus'],
    [{ defaultCpus: '1; rm' }, 'default-cpus'],
    [{ defaultMemory: 'lots' }, 'default-memory'],
    [{ defaultMemory: '256M\n' }, 'default-memory'],
  ])('refuses %j', (override, input) => {
    expect(actionSpelling(() => validatePolicySettings(policy(override)))).toMatch(`Input "${input}"`);
  });

  test.each([
    ['0.25', '512M'],
    ['2', '1g'],
    ['1.5', '1GiB'],
    ['1', '1073741824'],
  ])('accepts %s / %s', (cpus, memory) => {
    expect(() => validatePolicySettings(policy({ defaultCpus: cpus, defaultMemory: memory }))).not.toThrow();
  });

  test('a maximum of replicas must be a whole number of at least 1', () => {
    expect(() => validatePolicySettings(policy({ maxReplicas: 0 }))).toThrow(/maxReplicas/);
    expect(() => validatePolicySettings(policy({ maxReplicas: 2.5 }))).toThrow(/maxReplicas/);
    expect(() => validatePolicySettings(policy({ maxReplicas: 1 }))).not.toThrow();
  });

  test('tiers', () => {
    expect(tierConstraint('enterprise')).toBe('node.labels.tier == enterprise');
    expect(tierConstraint('standard')).toBe('node.labels.tier != enterprise');
  });
});
