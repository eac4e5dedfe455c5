import { describe, expect, test } from 'vitest';
import type { PolicySettings } from '../../../src/compose/policy.js';
import { imageRegistry, tenantPolicy } from '../../../src/rollout/tenancy.js';
import type { TenantEntry } from '../../../src/state/tenants.js';
import { configurationErrorOf } from '../../support/errors.js';

const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

const ENTRY: TenantEntry = {
  client: 'shop',
  domains: ['shop.example.com', 'api.shop.example.com'],
  tier: 'enterprise',
  policy: 'enforce',
  maxReplicas: 6,
  publishPorts: false,
  managerPlacement: false,
  registries: [ECR, 'registry.example.com:5000'],
  keys: [],
  subjects: [],
};

/** A request's policy as the action reads it with its defaults. */
function request(overrides: Partial<PolicySettings> = {}): PolicySettings {
  return {
    mode: 'enforce',
    allowPublishedPorts: false,
    maxReplicas: 10,
    defaultCpus: '0.5',
    defaultMemory: '512M',
    domains: ['shop.example.com'],
    port: 8080,
    ...overrides,
  };
}

const IMAGES = [`${ECR}/shop/api@sha256:${'a'.repeat(64)}`];

describe('tenantPolicy', () => {
  test('the effective settings: the entry’s tier and placement, the smaller replica limit, the request’s domains', () => {
    expect(tenantPolicy(ENTRY, request(), IMAGES)).toEqual({
      ...request(),
      mode: 'enforce',
      domains: ['shop.example.com'],
      tier: 'enterprise',
      maxReplicas: 6,
      allowPublishedPorts: false,
      allowManagerPlacement: false,
    });
  });

  test('max-replicas is the smaller of the entry’s and the request’s', () => {
    expect(tenantPolicy(ENTRY, request({ maxReplicas: 2 }), IMAGES).maxReplicas).toBe(2);
    expect(tenantPolicy(ENTRY, request({ maxReplicas: 1000 }), IMAGES).maxReplicas).toBe(6);
    expect(tenantPolicy(ENTRY, request({ maxReplicas: undefined }), IMAGES).maxReplicas).toBe(6);
  });

  test('policy: a request may make it stricter, never weaker (warn under enforce is refused)', () => {
    const warnEntry = { ...ENTRY, policy: 'warn' as const };
    expect(tenantPolicy(warnEntry, request({ mode: 'enforce' }), IMAGES).mode).toBe('enforce');
    expect(tenantPolicy(warnEntry, request({ mode: 'warn' }), IMAGES).mode).toBe('warn');
    const error = configurationErrorOf(() => tenantPolicy(ENTRY, request({ mode: 'warn' }), IMAGES));
    expect(error.field).toBe('policy');
    expect(error.message).toContain('the platform enforces the policy for shop');
  });

  test('domains: each must be the entry’s (case does not matter); a foreign one is refused', () => {
    expect(tenantPolicy(ENTRY, request({ domains: ['API.shop.example.com'] }), IMAGES).domains).toEqual([
      'api.shop.example.com',
    ]);
    expect(tenantPolicy(ENTRY, request({ domains: [] }), IMAGES).domains).toEqual([]);
    const error = configurationErrorOf(() =>
      tenantPolicy(ENTRY, request({ domains: ['shop.example.com', 'blog.example.com'] }), IMAGES),
    );
    expect(error.field).toBe('domain');
    expect(error.message).toContain('"blog.example.com" is not a domain of shop');
  });

  test('domains: a value that is not a host name is refused before it is compared', () => {
    const error = configurationErrorOf(() =>
      tenantPolicy(ENTRY, request({ domains: ['shop.example.com`) || Host(`blog.example.com'] }), IMAGES),
    );
    expect(error.field).toBe('domain');
    expect(error.message).toContain('is not a host name');
  });

  test('tier: comes from the entry; a request for another tier is refused', () => {
    expect(tenantPolicy(ENTRY, request({ tier: 'enterprise' }), IMAGES).tier).toBe('enterprise');
    const standard = { ...ENTRY, tier: 'standard' as const };
    const error = configurationErrorOf(() => tenantPolicy(standard, request({ tier: 'enterprise' }), IMAGES));
    expect(error.field).toBe('tier');
  });

  test('published ports: only when both the entry and the request allow them', () => {
    const open = { ...ENTRY, publishPorts: true };
    expect(tenantPolicy(open, request({ allowPublishedPorts: true }), IMAGES).allowPublishedPorts).toBe(true);
    expect(tenantPolicy(open, request({ allowPublishedPorts: false }), IMAGES).allowPublishedPorts).toBe(false);
    const error = configurationErrorOf(() => tenantPolicy(ENTRY, request({ allowPublishedPorts: true }), IMAGES));
    expect(error.field).toBe('allow-published-ports');
  });

  test('manager placement: only when the entry allows it, and a request can still keep off managers', () => {
    const managers = { ...ENTRY, managerPlacement: true };
    expect(tenantPolicy(managers, request(), IMAGES).allowManagerPlacement).toBe(true);
    expect(tenantPolicy(managers, request({ allowManagerPlacement: false }), IMAGES).allowManagerPlacement).toBe(false);
    expect(tenantPolicy(ENTRY, request({ allowManagerPlacement: true }), IMAGES).allowManagerPlacement).toBe(false);
  });

  test.each([
    ['another registry', `ghcr.io/acme/shop:1`, 'comes from ghcr.io'],
    ['Docker Hub, by a short name', 'nginx:1.27', 'comes from docker.io'],
    [
      'the allowed host on another port',
      'registry.example.com:5001/shop/api:1',
      'comes from registry.example.com:5001',
    ],
    ['the allowed host without its port', 'registry.example.com/shop/api:1', 'comes from registry.example.com,'],
    ['a host that ends like the allowed one', `evil${ECR}/shop/api:1`, `comes from evil${ECR}`],
  ])('images: one from %s is refused', (_what, image, message) => {
    const error = configurationErrorOf(() => tenantPolicy(ENTRY, request(), [...IMAGES, image]));
    expect(error.field).toBe('image');
    expect(error.message).toContain(message);
  });

  test('images: an entry with no registries allows no image; an invalid reference names the image', () => {
    expect(configurationErrorOf(() => tenantPolicy({ ...ENTRY, registries: [] }, request(), IMAGES)).message).toContain(
      'none is allowed',
    );
    expect(configurationErrorOf(() => tenantPolicy(ENTRY, request(), ['Shop:latest\n'])).field).toBe('image');
  });

  test('images: every allowed registry, any case, with or without a digest', () => {
    const images = [
      `${ECR.toUpperCase()}/shop/api:v1`,
      `registry.example.com:5000/shop/worker@sha256:${'b'.repeat(64)}`,
    ];
    expect(() => tenantPolicy(ENTRY, request(), images)).not.toThrow();
  });
});

describe('imageRegistry', () => {
  test.each([
    ['nginx', 'docker.io'],
    ['library/nginx:1', 'docker.io'],
    ['index.docker.io/library/nginx', 'docker.io'],
    ['localhost:5000/app', 'localhost:5000'],
    ['localhost/app', 'localhost'],
    [`${ECR}/shop/api:v1`, ECR],
  ])('%s pulls from %s', (image, registry) => {
    expect(imageRegistry(image)).toBe(registry);
  });
});
