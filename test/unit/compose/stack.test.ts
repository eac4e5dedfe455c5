import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { ConfigurationError } from '../../../src/core/errors.js';
import type { PolicySettings } from '../../../src/compose/policy.js';
import {
  MIN_MONITOR_MS,
  escapeForDocker,
  PolicyError,
  StackError,
  monitorFor,
  parseGoDuration,
  renderStack,
  toWireYaml,
} from '../../../src/compose/stack.js';
import type { RenderOptions } from '../../../src/compose/stack.js';
import { Tenant } from '../../../src/core/tenant.js';
import { actionSpelling } from '../../support/errors.js';
import { actionField } from '../../../src/core/run.js';

const IMAGE = `registry.example.com/acme/web@sha256:${'ab'.repeat(32)}`;

const basePolicy: PolicySettings = { mode: 'enforce', allowPublishedPorts: false, domains: [] };

function options(text: string, override: Partial<RenderOptions> = {}): RenderOptions {
  return {
    tenant: Tenant.parse('acme'),
    file: 'stack.yml',
    text,
    image: IMAGE,
    env: new Map(),
    release: { id: '20250101-abc', time: '2025-01-01T00:00:00Z' },
    policy: basePolicy,
    ...override,
  };
}

const render = (text: string, override: Partial<RenderOptions> = {}) => renderStack(options(text, override));

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * What the docker CLI reads from the rendered YAML: parse it, then undo the `$$` escaping its
 * variable substitution performs. A lone `$` left in a string would be substituted by the docker
 * CLI with the manager's environment, so none may remain.
 */
function dockerView(yaml: string): Obj {
  const unescape = (value: unknown): unknown => {
    if (typeof value === 'string') {
      expect(value.replaceAll('$$', '')).not.toContain('$');
      return value.replaceAll('$$', '$');
    }
    if (Array.isArray(value)) return value.map(unescape);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unescape(v)]));
    }
    return value;
  };
  return unescape(parse(yaml)) as Obj;
}

const SIMPLE = `
services:
  web:
    image: \${IMAGE}
`;

describe('renderStack: the rendered stack', () => {
  test('a minimal stack joins the client network and gets safe update settings and release labels', () => {
    const rendered = render(SIMPLE, {
      release: {
        id: 'r7',
        gitSha: 'abc1234',
        runUrl: 'https://github.com/o/r/actions/runs/1',
        actor: 'octo',
        time: '2025-01-01T00:00:00Z',
      },
    });
    expect(rendered.network).toBe('acme-net');
    expect(rendered.variables).toStrictEqual(['IMAGE']);
    expect(rendered.warnings.map((w) => w.rule)).toStrictEqual(['default-limits']);
    const doc = dockerView(rendered.yaml);
    expect(doc).toStrictEqual(rendered.document);
    expect(doc).toStrictEqual({
      services: {
        web: {
          image: IMAGE,
          networks: ['acme-net'],
          deploy: {
            update_config: { order: 'start-first', failure_action: 'rollback', parallelism: 1, monitor: '10s' },
            rollback_config: { order: 'start-first', parallelism: 1, failure_action: 'pause', monitor: '10s' },
            labels: {
              'swarm-deploy.client': 'acme',
              'swarm-deploy.release': 'r7',
              'swarm-deploy.git-sha': 'abc1234',
              'swarm-deploy.run-url': 'https://github.com/o/r/actions/runs/1',
              'swarm-deploy.actor': 'octo',
              'swarm-deploy.time': '2025-01-01T00:00:00Z',
              'swarm-deploy.fingerprint': expect.stringMatching(/^[0-9a-f]{32}$/),
            },
          },
        },
      },
      networks: { 'acme-net': { external: true, name: 'acme-net' } },
    });
    expect(rendered.services).toStrictEqual([
      { name: 'web', fullName: 'acme_web', image: IMAGE, replicas: 1, monitorMs: 10_000, secrets: [], configs: [] },
    ]);
  });

  test('release labels given are the only ones written, with the stack fingerprint', () => {
    const labels = dockerView(render(SIMPLE).yaml).services.web.deploy.labels;
    expect(Object.keys(labels)).toStrictEqual([
      'swarm-deploy.client',
      'swarm-deploy.release',
      'swarm-deploy.time',
      'swarm-deploy.fingerprint',
    ]);
  });

  test("the stack's own settings win over the defaults, field by field", () => {
    const rendered = render(`
version: "3.8"
services:
  web:
    image: \${IMAGE}
    deploy:
      replicas: 3
      update_config:
        parallelism: 2
        monitor: 1m
        failure_action: pause
      rollback_config:
        order: stop-first
`);
    const deploy = dockerView(rendered.yaml).services.web.deploy;
    expect(deploy.update_config).toStrictEqual({
      parallelism: 2,
      monitor: '1m',
      failure_action: 'pause',
      order: 'start-first',
    });
    expect(deploy.rollback_config).toStrictEqual({
      order: 'stop-first',
      parallelism: 1,
      failure_action: 'pause',
      monitor: '10s',
    });
    expect(rendered.services[0]).toMatchObject({ replicas: 3, monitorMs: 60_000 });
    expect(rendered.yaml.startsWith('version: "3.8"\n')).toBe(true);
  });

  test('without auto-rollback a failed update pauses instead of reverting', () => {
    const deploy = dockerView(render(SIMPLE, { autoRollback: false }).yaml).services.web.deploy;
    expect(deploy.update_config.failure_action).toBe('pause');
    expect(
      dockerView(render(SIMPLE, { autoRollback: true }).yaml).services.web.deploy.update_config.failure_action,
    ).toBe('rollback');
  });

  test('services publishing host-mode ports stop the old task first (two tasks cannot hold one host port)', () => {
    const rendered = render(
      `
services:
  web:
    image: \${IMAGE}
    ports:
      - { target: 80, published: 8080, mode: host }
`,
      { policy: { ...basePolicy, allowPublishedPorts: true } },
    );
    const deploy = dockerView(rendered.yaml).services.web.deploy;
    expect(deploy.update_config.order).toBe('stop-first');
    expect(deploy.rollback_config.order).toBe('stop-first');
  });

  const orders = (rendered: { yaml: string }, service: string): [string, string] => {
    const deploy = dockerView(rendered.yaml).services[service].deploy;
    return [deploy.update_config.order, deploy.rollback_config.order];
  };
  const notices = (rendered: { warnings: { rule: string; service?: string; line?: number; message: string }[] }) =>
    rendered.warnings.filter((w) => w.rule === 'stateful-order');

  test('a service mounting a named volume (short syntax) stops the old task first, with a notice naming it', () => {
    const rendered = render(`
services:
  db:
    image: \${IMAGE}
    volumes:
      - /scratch
      - data:/var/lib/postgresql/data:rw
  web:
    image: \${IMAGE}
volumes:
  data:
`);
    expect(orders(rendered, 'db')).toStrictEqual(['stop-first', 'stop-first']);
    expect(orders(rendered, 'web')).toStrictEqual(['start-first', 'start-first']);
    const [notice, ...others] = notices(rendered);
    expect(others).toHaveLength(0);
    expect(notice).toMatchObject({ service: 'db', line: 7, severity: 'warning', file: 'stack.yml' });
    expect(notice?.message).toBe(
      'service "db" mounts the named volume "data": update_config and rollback_config default to order: stop-first, ' +
        'so two tasks never run on the same data at once; set the order in the stack file to choose',
    );
  });

  test('a named volume in long syntax counts too, with or without its type', () => {
    for (const type of ['type: volume', '']) {
      const rendered = render(`
services:
  db:
    image: \${IMAGE}
    volumes:
      - ${type}
        source: data
        target: /data
volumes:
  data: {}
`);
      expect(orders(rendered, 'db')).toStrictEqual(['stop-first', 'stop-first']);
      expect(notices(rendered).map((w) => w.service)).toStrictEqual(['db']);
    }
  });

  test('bind mounts, tmpfs and anonymous volumes keep start-first, without a notice', () => {
    const rendered = render(
      `
services:
  web:
    image: \${IMAGE}
    volumes:
      - ./data:/data
      - type: bind
        source: /srv/data
        target: /srv
      - type: tmpfs
        target: /tmp
      - /cache
volumes:
  data: {}
`,
      { policy: { ...basePolicy, mode: 'warn' } },
    );
    expect(orders(rendered, 'web')).toStrictEqual(['start-first', 'start-first']);
    expect(notices(rendered)).toHaveLength(0);
    expect(rendered.warnings.map((w) => w.rule)).toContain('bind-mount');
  });

  test('an order the stack sets is kept; only the unset one defaults to stop-first, and the notice says which', () => {
    const stack = (update: string, rollback: string) => `
services:
  db:
    image: \${IMAGE}
    volumes: [data:/data]
    deploy:
      update_config: {${update}}
      rollback_config: {${rollback}}
volumes:
  data:
`;
    const one = render(stack('order: start-first', 'parallelism: 1'));
    expect(orders(one, 'db')).toStrictEqual(['start-first', 'stop-first']);
    expect(notices(one).map((w) => w.message)).toStrictEqual([
      expect.stringContaining(': rollback_config defaults to order: stop-first'),
    ]);
    const other = render(stack('parallelism: 1', 'order: start-first'));
    expect(orders(other, 'db')).toStrictEqual(['stop-first', 'start-first']);
    expect(notices(other).map((w) => w.message)).toStrictEqual([
      expect.stringContaining(': update_config defaults to order: stop-first'),
    ]);
    const both = render(stack('order: start-first', 'order: start-first'));
    expect(orders(both, 'db')).toStrictEqual(['start-first', 'start-first']);
    expect(notices(both)).toHaveLength(0);
  });

  test.each([
    ['no healthcheck', undefined, MIN_MONITOR_MS],
    ['docker defaults (30s × 3)', { test: ['CMD', 'true'] }, 90_000],
    ['start period + interval × retries', { test: 'true', interval: '5s', retries: 4, start_period: '15s' }, 35_000],
    ['at least 10 s', { test: 'true', interval: '1s', retries: 2 }, 10_000],
    ['Go durations', { test: 'true', interval: '1m30s', retries: 1, start_period: '500ms' }, 90_500],
    ['disabled', { disable: true }, MIN_MONITOR_MS],
    ['NONE test', { test: ['NONE'] }, MIN_MONITOR_MS],
    ['retries 0', { test: 'true', interval: '20s', retries: 0, start_period: '12s' }, 12_000],
  ])('monitor: %s', (_title, healthcheck, ms) => {
    expect(monitorFor(healthcheck === undefined ? {} : { healthcheck })).toBe(ms);
  });

  test('the monitor follows the healthcheck in the rendered YAML', () => {
    const rendered = render(`
services:
  web:
    image: \${IMAGE}
    healthcheck:
      test: ["CMD", "/app", "health"]
      interval: 2500ms
      retries: 5
      start_period: 20s
`);
    expect(rendered.services[0]?.monitorMs).toBe(32_500);
    expect(dockerView(rendered.yaml).services.web.deploy.update_config.monitor).toBe('32500ms');
  });

  test.each([['5'], ['10 s'], ['-1s'], ['1d']])('healthcheck interval %j is refused with its line', (interval) => {
    const text = `services:\n  web:\n    image: x\n    healthcheck:\n      test: "true"\n      interval: "${interval}"\n`;
    expect(() => render(text)).toThrow(/stack\.yml:6: healthcheck interval .* is not a duration/);
  });

  test('parseGoDuration', () => {
    expect(parseGoDuration('1h2m3s')).toBe(3_723_000);
    expect(parseGoDuration('1.5s')).toBe(1500);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('10')).toBeUndefined();
    expect(parseGoDuration('')).toBeUndefined();
  });

  test('networks: own networks become overlays, services keep them and also join the client network', () => {
    const rendered = render(`
services:
  web:
    image: \${IMAGE}
    networks:
      back:
        aliases: [api]
  db:
    image: registry.example.com/acme/db:1
    networks: [back]
  cache:
    image: registry.example.com/acme/cache:1
networks:
  back: {}
  front:
    driver: overlay
    attachable: true
  default:
`);
    const doc = dockerView(rendered.yaml);
    expect(doc.networks).toStrictEqual({
      back: { driver: 'overlay' },
      front: { driver: 'overlay', attachable: true },
      default: { driver: 'overlay' },
      'acme-net': { external: true, name: 'acme-net' },
    });
    expect(doc.services.web.networks).toStrictEqual({ back: { aliases: ['api'] }, 'acme-net': null });
    expect(doc.services.db.networks).toStrictEqual(['back', 'acme-net']);
    // A service that relied on the default network keeps it.
    expect(doc.services.cache.networks).toStrictEqual(['default', 'acme-net']);
  });

  test('a stack that already declares the client network under another key is not attached twice', () => {
    const rendered = render(`
services:
  web:
    image: \${IMAGE}
    networks: [shared]
networks:
  shared:
    external: true
    name: acme-net
`);
    const doc = dockerView(rendered.yaml);
    expect(doc.services.web.networks).toStrictEqual(['shared']);
    expect(Object.keys(doc.networks)).toStrictEqual(['shared']);
  });

  test('secrets and configs point at their versioned Swarm names; services keep their logical names', () => {
    const rendered = render(
      `
services:
  web:
    image: \${IMAGE}
    secrets:
      - db-password
      - source: api-key
        target: key
        mode: 0440
      - shared
    configs:
      - source: nginx
        target: /etc/nginx/nginx.conf
secrets:
  db-password: {}
  api-key:
    file: ./api-key.txt
  shared:
    external: true
    name: acme_shared_0badc0de
configs:
  nginx: {}
`,
      {
        secretNames: new Map([
          ['db-password', 'acme_db-password_11111111'],
          ['api-key', 'acme_api-key_22222222'],
        ]),
        configNames: new Map([['nginx', 'acme_nginx_33333333']]),
      },
    );
    const doc = dockerView(rendered.yaml);
    expect(doc.secrets).toStrictEqual({
      'db-password': { external: true, name: 'acme_db-password_11111111' },
      'api-key': { external: true, name: 'acme_api-key_22222222' },
      shared: { external: true, name: 'acme_shared_0badc0de' },
    });
    expect(doc.configs).toStrictEqual({ nginx: { external: true, name: 'acme_nginx_33333333' } });
    // 0440 is octal, as the docker CLI reads it.
    expect(doc.services.web.secrets[1]).toStrictEqual({ source: 'api-key', target: 'key', mode: 0o440 });
    expect(rendered.services[0]?.secrets).toStrictEqual([
      'acme_db-password_11111111',
      'acme_api-key_22222222',
      'acme_shared_0badc0de',
    ]);
    expect(rendered.services[0]?.configs).toStrictEqual(['acme_nginx_33333333']);
  });

  test.each([
    [
      'a secret without a value',
      'services:\n  web:\n    image: x\n    secrets: [token]\nsecrets:\n  token: {}\n',
      /stack\.yml:6: secret "token" has no value: give it in the secrets input \(token=\.\.\.\)/,
      'secrets',
    ],
    [
      'a config without a value',
      'services:\n  web:\n    image: x\nconfigs:\n  app: {}\n',
      /stack\.yml:5: config "app" has no value/,
      'configs',
    ],
    [
      'an undeclared secret',
      'services:\n  web:\n    image: x\n    secrets:\n      - source: other\n',
      /stack\.yml:5: service "web" uses secret "other", which the stack does not declare/,
      'stack-file',
    ],
    [
      'an undeclared config',
      'services:\n  web:\n    image: x\n    configs: [c]\n',
      /stack\.yml:4: service "web" uses config "c"/,
      'stack-file',
    ],
    [
      'an undeclared network',
      'services:\n  web:\n    image: x\n    networks: [globex-net]\n',
      /stack\.yml:4: service "web" joins network "globex-net", which the stack does not declare/,
      'stack-file',
    ],
    ['no services', 'version: "3.8"\n', /the stack defines no services/, 'stack-file'],
    ['not a mapping', '- a\n- b\n', /must be a mapping/, 'stack-file'],
    [
      'an unsupported top-level key',
      'services:\n  web:\n    image: x\ninclude: [other.yml]\n',
      /stack\.yml:4: unsupported top-level key "include"/,
      'stack-file',
    ],
    [
      'a service without an image',
      'services:\n  web:\n    build: .\n',
      /stack\.yml:2: service "web" has no image/,
      'stack-file',
    ],
    [
      'a bad image',
      'services:\n  web:\n    image: "Web:latest"\n',
      /stack\.yml:3: service "web": .*lowercase/,
      'stack-file',
    ],
    [
      'a hostile service name',
      'services:\n  "web;id":\n    image: x\n',
      /stack\.yml:2: "web;id" is not a valid name/,
      'stack-file',
    ],
    [
      'a ../ secret name',
      'services:\n  web:\n    image: x\nsecrets:\n  "../x": {}\n',
      /stack\.yml:5: "\.\.\/x" is not a valid name/,
      'stack-file',
    ],
    [
      'a too long service name',
      `services:\n  ${'s'.repeat(60)}:\n    image: x\n`,
      /longer than 63 characters/,
      'stack-file',
    ],
    [
      'an undefined variable',
      'services:\n  web:\n    image: x\n    environment:\n      DB: ${DB_HOST}\n',
      /stack\.yml:5 \(services\.web\.environment\.DB\): variable DB_HOST is not set/,
      'env',
    ],
    [
      'a command substitution in the file',
      'services:\n  web:\n    image: x\n    command: echo $(id)\n',
      /stack\.yml:4 .*not followed by a variable name/,
      'stack-file',
    ],
    [
      'a replicas variable that is not a number',
      'services:\n  web:\n    image: x\n    deploy:\n      replicas: ${N}\n',
      /stack\.yml:5 .*"3; rm" is not an integer/,
      'env',
    ],
    ['invalid YAML', 'services:\n  web:\n    image: [x\n', /stack\.yml:\d+: invalid YAML/, 'stack-file'],
    [
      'duplicate keys',
      'services:\n  web:\n    image: x\n    image: y\n',
      /stack\.yml:4: invalid YAML: Map keys must be unique/,
      'stack-file',
    ],
    ['two documents', 'services: {}\n---\nservices: {}\n', /invalid YAML/, 'stack-file'],
  ])('%s is a ConfigurationError with the line', (_title, text, message, input) => {
    let error: unknown;
    try {
      render(text, { env: new Map([['N', '3; rm']]) });
    } catch (caught: unknown) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).not.toBeInstanceOf(PolicyError);
    expect((error as ConfigurationError).field).toBe(input);
    expect((error as Error).message).toMatch(message);
  });

  test('variables: IMAGE comes from the image option, others from env; casts follow the docker CLI', () => {
    const rendered = render(
      `
services:
  web:
    image: \${IMAGE}
    environment:
      PORT: \${PORT:-8080}
      MODE: $MODE
    deploy:
      replicas: \${REPLICAS}
    read_only: \${RO}
`,
      {
        env: new Map([
          ['IMAGE', 'ignored:1'],
          ['MODE', 'prod'],
          ['REPLICAS', '4'],
          ['RO', 'yes'],
        ]),
      },
    );
    const web = dockerView(rendered.yaml).services.web;
    expect(web.image).toBe(IMAGE);
    expect(web.environment).toStrictEqual({ PORT: '8080', MODE: 'prod' });
    expect(web.deploy.replicas).toBe(4);
    expect(web.read_only).toBe(true);
    expect(rendered.services[0]?.replicas).toBe(4);
    expect(rendered.variables).toStrictEqual(['IMAGE', 'PORT', 'MODE', 'REPLICAS', 'RO']);
  });

  test('global services have no replica count (warn mode: the policy refuses them otherwise)', () => {
    const rendered = render('services:\n  agent:\n    image: x\n    deploy:\n      mode: global\n', {
      policy: { ...basePolicy, mode: 'warn' },
    });
    expect(rendered.services[0]?.replicas).toBeUndefined();
    expect(rendered.warnings.map((w) => [w.rule, w.line])).toContainEqual(['deploy-mode', 5]);
  });

  test('hand-written swarm-deploy labels are replaced by the release labels (warn mode)', () => {
    const rendered = render(
      'services:\n  web:\n    image: x\n    deploy:\n      labels: ["swarm-deploy.client=globex", "keep=1"]\n',
      {
        policy: { ...basePolicy, mode: 'warn' },
      },
    );
    const labels = dockerView(rendered.yaml).services.web.deploy.labels;
    expect(labels['swarm-deploy.client']).toBe('acme');
    expect(labels.keep).toBe('1');
    expect(rendered.warnings.map((w) => [w.rule, w.line])).toContainEqual(['reserved-label', 5]);
  });
});

describe('renderStack: policy additions', () => {
  const TWO = `
services:
  web:
    image: \${IMAGE}
    deploy:
      resources:
        limits:
          cpus: "1"
  worker:
    image: registry.example.com/acme/worker:1
`;
  const routing: PolicySettings = {
    ...basePolicy,
    domains: ['acme.example.com', 'www.acme.example.com'],
    port: 8080,
    routedService: 'web',
    entrypoint: 'websecure',
    certResolver: 'le',
    tier: 'enterprise',
    defaultCpus: '0.5',
    defaultMemory: '256M',
  };

  test('Traefik labels on the routed service only, tier constraint and default limits on every service', () => {
    const rendered = render(TWO, { policy: routing });
    const doc = dockerView(rendered.yaml);
    const web = doc.services.web.deploy;
    expect(web.labels).toMatchObject({
      'traefik.enable': 'true',
      'traefik.http.routers.acme_web.rule': 'Host(`acme.example.com`) || Host(`www.acme.example.com`)',
      'traefik.http.routers.acme_web.entrypoints': 'websecure',
      'traefik.http.routers.acme_web.tls.certresolver': 'le',
      'traefik.http.services.acme_web.loadbalancer.server.port': '8080',
      'traefik.swarm.network': 'acme-net',
    });
    expect(Object.keys(doc.services.worker.deploy.labels).filter((k) => k.startsWith('traefik.'))).toStrictEqual([]);
    expect(web.placement.constraints).toStrictEqual(['node.labels.tier == enterprise']);
    expect(doc.services.worker.deploy.placement.constraints).toStrictEqual(['node.labels.tier == enterprise']);
    expect(web.resources.limits).toStrictEqual({ cpus: '1', memory: '256M' });
    expect(doc.services.worker.deploy.resources.limits).toStrictEqual({ cpus: '0.5', memory: '256M' });
    expect(rendered.warnings.map((w) => [w.rule, w.service, w.line])).toStrictEqual([
      ['default-limits', 'web', 3],
      ['default-limits', 'worker', 9],
    ]);
  });

  test('a service shared through an alias does not carry the routed service labels', () => {
    const rendered = render(
      `
services:
  web: &svc
    image: \${IMAGE}
  copy: *svc
`,
      { policy: routing },
    );
    const doc = dockerView(rendered.yaml);
    expect(doc.services.web.deploy.labels['traefik.enable']).toBe('true');
    expect(doc.services.copy.deploy.labels['traefik.enable']).toBeUndefined();
  });

  test.each([
    [{ routedService: undefined }, 'routed-service', /the stack has 2 services \(web, worker\); name the one/],
    [{ routedService: 'api' }, 'routed-service', /no service "api"/],
    [{ port: undefined }, 'service-port', /a port is required/],
    [{ domains: ['acme.example.com`) || PathPrefix(`/'] }, 'domain', /not a host name/],
    [{ defaultMemory: 'much' }, 'default-memory', /not a memory size/],
    [{ entrypoint: 'a b' }, 'entrypoint', /may contain only/],
    [{ entrypoint: 'traefik' }, 'entrypoint', /not one of the platform's Traefik entrypoints \(web, websecure\)/],
    [{ entrypoints: ['internal'] }, 'entrypoint', /not one of the platform's Traefik entrypoints \(internal\)/],
  ] as [Partial<PolicySettings>, string, RegExp][])(
    'routing settings %j are refused naming the input',
    (override, input, message) => {
      let error: unknown;
      try {
        render(TWO, { policy: { ...routing, ...override } });
      } catch (caught: unknown) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).field).toBe(input);
      expect((error as Error).message).toMatch(message);
    },
  );

  test('one service is routed without naming it', () => {
    const rendered = render(SIMPLE, { policy: { ...routing, routedService: undefined } });
    expect(rendered.document.services).toMatchObject({ web: { deploy: { labels: { 'traefik.enable': 'true' } } } });
  });

  test('enforce mode refuses with every violation; nothing is rendered', () => {
    const text = 'services:\n  web:\n    image: x\n    privileged: true\n    cap_add: [ALL]\n    ports: ["80:80"]\n';
    expect(() => render(text)).toThrow(PolicyError);
    try {
      render(text);
    } catch (error: unknown) {
      expect((error as PolicyError).violations.map((v) => [v.rule, v.line])).toStrictEqual([
        ['privileged', 4],
        ['cap-add', 5],
        ['published-ports', 6],
      ]);
      expect((error as PolicyError).spelled(actionField)).toMatch(
        /^Input "stack-file": stack\.yml is refused by the cluster policy \(3 violations\):\n- stack\.yml:4 \[privileged\]/,
      );
    }
  });
});

describe('renderStack: hostile values', () => {
  const hostile = [
    '$(id)',
    '`id`',
    'a; rm -rf /',
    'line1\nline2: injected\n- item',
    'key: value',
    '"quoted" \'single\'',
    '&anchor *alias <<: *x',
    '${HOME} $HOME $$ $',
    '{ flow: map }',
    '[1, 2]',
    '# comment',
    '---\nservices: {}',
    '../../etc/passwd',
    '\u0441lient ‮ unicode \u0000 nul \t tab \r cr',
    'true',
    '0440',
    '~',
    ' leading and trailing ',
    'x'.repeat(10_000),
    '',
  ];

  test.each(hostile.map((value) => [JSON.stringify(value).slice(0, 40), value]))(
    'env value %s stays one string scalar, exactly',
    (_title, value) => {
      const text = `
services:
  web:
    image: \${IMAGE}
    environment:
      V: \${V}
      W: "prefix \${V} suffix"
    command: ["sh", "-c", "\${V}"]
    deploy:
      labels:
        v: \${V}
`;
      const rendered = render(text, { env: new Map([['V', value]]) });
      const web = dockerView(rendered.yaml).services.web;
      expect(web.environment).toStrictEqual({ V: value, W: `prefix ${value} suffix` });
      expect(web.command).toStrictEqual(['sh', '-c', value]);
      expect(web.deploy.labels.v).toBe(value);
      expect(Object.keys(web).sort()).toStrictEqual(['command', 'deploy', 'environment', 'image', 'networks']);
      expect(Object.keys(dockerView(rendered.yaml)).sort()).toStrictEqual(['networks', 'services']);
      // The rendered document holds the value itself.
      expect((rendered.document.services as Obj).web.environment.V).toBe(value);
    },
  );

  test.each([['a;rm -rf /'], ['$(id)'], ['../x'], ['\u0441lient'], ['acme\n'], ['x'.repeat(500)]])(
    'client %j is refused before the stack is read',
    (client) => {
      expect(actionSpelling(() => render(SIMPLE, { tenant: Tenant.parse(client) }))).toMatch(/^Input "client": /);
    },
  );

  test('backticks and semicolons in the stack file itself are plain data', () => {
    const rendered = render('services:\n  web:\n    image: x\n    command: "echo `id`; ls && $$HOME"\n');
    expect(dockerView(rendered.yaml).services.web.command).toBe('echo `id`; ls && $HOME');
  });

  test('a "billion laughs" alias bomb is refused fast', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i += 1) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const text = `x-bomb:\n${levels.map((l) => `  ${l}`).join('\n')}\nservices:\n  web:\n    image: x\n    command: *j\n`;
    const start = performance.now();
    expect(() => render(text)).toThrow(/aliases expand too much/);
    expect(performance.now() - start).toBeLessThan(2000);
  });

  test('merge keys work as in compose, and an anchor can be reused a few times', () => {
    const rendered = render(`
x-defaults: &defaults
  environment:
    LOG: info
  deploy:
    replicas: 2
services:
  a:
    <<: *defaults
    image: registry.example.com/acme/a:1
  b:
    <<: *defaults
    image: registry.example.com/acme/b:1
    environment:
      LOG: debug
`);
    const doc = dockerView(rendered.yaml);
    expect(doc.services.a.environment).toStrictEqual({ LOG: 'info' });
    expect(doc.services.b.environment).toStrictEqual({ LOG: 'debug' });
    expect(rendered.services.map((s) => s.replicas)).toStrictEqual([2, 2]);
    expect(Object.keys(doc)).not.toContain('x-defaults');
  });

  test.each([
    ['a long string', `x-big: &big "${'lol'.repeat(200_000)}"`, 20],
    ['a long list', `x-big: &big [${Array(2_000).fill('"lol"').join(',')}]`, 900],
    ['a deep nest of small lists', 'x-a: &a [1, 2]\nx-b: &b [*a, *a, *a]\nx-c: &c [*b, *b, *b]', 300],
  ])('few aliases of %s: refused by the expanded size, fast', (_name, anchor, copies) => {
    const expected = anchor.startsWith('x-a')
      ? `${anchor}\nx-d: &d [${Array(copies).fill('*c').join(',')}]\nx-e: &e [${Array(copies).fill('*d').join(',')}]`
      : anchor;
    const last = anchor.startsWith('x-a') ? 'e' : 'big';
    const text = `${expected}\nservices:\n  web:\n    image: x\n    command: [${Array(copies).fill(`*${last}`).join(',')}]\n`;
    const start = performance.now();
    expect(() => render(text)).toThrow(/stack\.yml: YAML aliases expand too much \(the file would grow past 4 MiB\)/);
    expect(performance.now() - start).toBeLessThan(2000);
  });

  test('aliases that expand within the cap render as before', () => {
    const rendered = render(
      `x-env: &env\n  LOG: info\n  NOTE: "${'n'.repeat(10_000)}"\nservices:\n  a:\n    image: x\n    environment: *env\n  b:\n    image: x\n    environment: *env\n`,
    );
    expect(rendered.services).toHaveLength(2);
  });

  test('a stack file over 1 MiB is refused', () => {
    expect(() => render(`# ${'x'.repeat(1024 * 1024)}\n${SIMPLE}`)).toThrow(/larger than 1024 KiB/);
  });
});

describe('toWireYaml', () => {
  test('escapeForDocker doubles each $', () => {
    expect(escapeForDocker('a$b$$c${D}')).toBe('a$$b$$$$c$${D}');
  });

  test('doubles every $ in string values, double-quotes strings and the keys YAML 1.1 reads otherwise, keeps numbers', () => {
    const yaml = toWireYaml({ services: { web: { environment: { A: '$X ${Y} $$', on: 'yes' }, replicas: 2 } } });
    expect(yaml).toBe(
      'services:\n  web:\n    environment:\n      A: "$$X $${Y} $$$$"\n      "on": "yes"\n    replicas: 2\n',
    );
  });
});

describe('renderStack: every problem at once', () => {
  const fixture = readFileSync(new URL('../../fixtures/stack/problems.yml', import.meta.url), 'utf8');
  /** The lines marked `# problem` in the fixture. */
  const marked = fixture.split('\n').flatMap((line, index) => (/# problem: /.test(line) ? [index + 1] : []));

  function refusal(text: string, override: Partial<RenderOptions> = {}): StackError {
    try {
      render(text, { env: new Map([['REPLICAS', 'three']]), ...override });
    } catch (error: unknown) {
      expect(error).toBeInstanceOf(StackError);
      return error as StackError;
    }
    throw new Error('the stack was not refused');
  }

  test('a file with many structural problems reports all of them in one error, each on its line', () => {
    const error = refusal(fixture);
    expect(error.problems.map((problem) => problem.where.line)).toStrictEqual(marked);
    expect(error.problems.map((problem) => problem.reason)).toStrictEqual([
      'service "web" joins network "front", which the stack does not declare under "networks"',
      'service "web" mounts volume "data", which the stack does not declare under top-level "volumes"',
      'service "web" uses secret "db_password", which the stack does not declare under top-level "secrets"',
      expect.stringMatching(/^variable API_TOKEN is not set; give it in the env input/),
      '"three" is not an integer',
      'service "worker" uses config "app_config", which the stack does not declare under top-level "configs"',
      'healthcheck interval "soon" is not a duration such as 10s or 1m30s',
      expect.stringMatching(/^service "cron": /),
      'service "cron": "deploy" must be a mapping',
      'secret "api_key" names a file: secrets come through the secrets input (masked), never from a file in the repository; give api_key=... in the secrets input, or mark it external: true',
    ]);
    expect(error.field).toBe('stack-file');
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('stack.yml has 10 problems:');
    expect(lines[1]).toBe(
      '- stack.yml:6: service "web" joins network "front", which the stack does not declare under "networks"',
    );
    expect(lines[4]).toMatch(/^- stack\.yml:12 \(services\.web\.environment\.TOKEN\): variable API_TOKEN is not set/);
    // The policy's refusals of the same file come in the same error.
    expect(error.violations.map((v) => [v.rule, v.line])).toStrictEqual([['privileged', 17]]);
    expect(lines.slice(11)).toStrictEqual([
      'stack.yml is refused by the cluster policy (1 violation):',
      '- stack.yml:17 [privileged] service "worker" asks for privileged mode',
    ]);
  });

  test('a single problem reads as it always has, naming its own input', () => {
    const error = refusal('services:\n  web:\n    image: x\n    environment:\n      A: ${A}\n');
    expect(error.problems).toHaveLength(1);
    expect(error.field).toBe('env');
    expect(error.message).toMatch(/^stack\.yml:5 \(services\.web\.environment\.A\): variable A is not set;/);
  });

  test('a volume the stack does not declare is refused; binds, tmpfs, anonymous and declared volumes are not', () => {
    const text = `
services:
  web:
    image: x
    volumes:
      - ./html:/usr/share/html
      - /cache
      - type: tmpfs
        target: /tmp
      - kept:/kept
      - type: volume
        source: logs
        target: /logs
volumes:
  kept: {}
`;
    const error = refusal(text);
    expect(error.problems.map((problem) => [problem.where.line, problem.reason])).toStrictEqual([
      [11, 'service "web" mounts volume "logs", which the stack does not declare under top-level "volumes"'],
    ]);
    expect(() =>
      render(text.replace('kept: {}', 'kept: {}\n  logs: {}'), { policy: { ...basePolicy, mode: 'warn' } }),
    ).not.toThrow();
  });

  test('a value that cannot be substituted is not judged again', () => {
    const text =
      'services:\n  web:\n    image: ${WEB_IMAGE}\n    networks: ["${NET}"]\n' +
      '    healthcheck:\n      interval: ${INTERVAL}\n    deploy:\n      update_config:\n        monitor: ${MONITOR}\n';
    const error = refusal(text);
    expect(error.problems.map((problem) => [problem.where.line, problem.field])).toStrictEqual([
      [3, 'env'],
      [4, 'env'],
      [6, 'env'],
      [9, 'env'],
    ]);
    expect(error.problems.every((problem) => /^variable [A-Z_]+ is not set/.test(problem.reason))).toBe(true);
  });
});
