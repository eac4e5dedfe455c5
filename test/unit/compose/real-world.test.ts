import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { POLICY_RULES } from '../../../src/compose/policy.js';
import type { PolicySettings } from '../../../src/compose/policy.js';
import { PolicyError, StackError, parseStack, renderStack } from '../../../src/compose/stack.js';
import { Tenant } from '../../../src/core/tenant.js';
import { stackFileReader } from '../../../src/rollout/settings.js';
import { versionedName } from '../../../src/state/versioned.js';
import { realWorld } from '../../support/corpus.js';

/**
 * The real-world corpus: stack files with the shapes of well-known public stacks, as clients bring
 * them. Each accepted one (`<name>/stack.yml`, with the files it refers to beside it) renders for
 * client `acme` under an enforcing policy, its files read from the repository; each refused one
 * (`refused/<name>.yml`) is refused in one error that names every rule of its first line.
 */

const { root, refusedDir, accepted, refused } = realWorld;
const tenant = Tenant.parse('acme');

/** A header comment of a corpus file (`# domain: ...`, `# routed-service: ...`). */
function header(text: string, key: string): string | undefined {
  return new RegExp(`^# ${key}: (.+)$`, 'm').exec(text)?.[1]?.trim();
}

function policyFor(text: string): PolicySettings {
  const domain = header(text, 'domain');
  return {
    mode: 'enforce',
    allowPublishedPorts: false,
    defaultCpus: '0.5',
    defaultMemory: '512M',
    domains: domain === undefined ? [] : [domain],
    port: 8080,
    routedService: header(text, 'routed-service'),
  };
}

/** Renders a corpus file as a deploy from the repository at `root` would. */
function render(path: string) {
  const text = readFileSync(path, 'utf8');
  const file = relative(root, path);
  return renderStack({
    tenant,
    file,
    text,
    image: 'registry.example.com/acme/app:1',
    env: new Map(),
    release: { id: '20261201-000000-abc', time: '2026-12-01T00:00:00Z' },
    policy: policyFor(text),
    files: {
      read: stackFileReader(root, file),
      configName: (key, content) => versionedName(tenant, key, content, 'configs'),
    },
  });
}

describe('real-world corpus', () => {
  test('holds at least twelve accepted stacks and some refused ones', () => {
    expect(accepted.length).toBeGreaterThanOrEqual(12);
    expect(refused.length).toBeGreaterThanOrEqual(3);
  });

  test.each(accepted)('%s renders under the enforcing policy', (name) => {
    const rendered = render(join(root, name, 'stack.yml'));
    expect(rendered.warnings.filter((warning) => warning.severity === 'error')).toStrictEqual([]);
    const document = parseServices(rendered.document);
    expect(Object.keys(document).length).toBeGreaterThan(0);
    for (const service of Object.values(document)) {
      // Nothing is left for the manager to read: env files are in the environment, config files are versioned configs.
      expect(service).not.toHaveProperty('env_file');
      expect(service.image).toBe('registry.example.com/acme/app:1');
    }
    for (const definition of Object.values(parseSection(rendered.document, 'configs')))
      expect(definition).not.toHaveProperty('file');
  });

  test.each(accepted)('%s keeps every setting its file makes', (name) => {
    const path = join(root, name, 'stack.yml');
    const rendered = parseServices(render(path).document);
    const written = parseServices(parseStack(name, readFileSync(path, 'utf8')).data as Record<string, unknown>);
    for (const [service, raw] of Object.entries(written)) {
      const { image: _image, env_file: _envFile, ...settings } = raw;
      const deploy = parseSection(settings, 'deploy');
      // Labels written as a list are a mapping in the rendered stack, as Docker reads them.
      if (Array.isArray(deploy.labels)) settings.deploy = { ...deploy, labels: labelMap(deploy.labels as string[]) };
      expect(contains(rendered[service], settings), `${name}: ${service}`).toBe(true);
    }
  });

  test.each(refused)('%s is refused with every reason at once', (name) => {
    const text = readFileSync(join(refusedDir, name), 'utf8');
    const rules = /^# refused: (.+)$/m
      .exec(text.split('\n')[0] ?? '')?.[1]
      ?.split(',')
      .map((rule) => rule.trim());
    expect(rules, `${name} names its rules on its first line`).toBeDefined();
    for (const rule of rules ?? []) expect(POLICY_RULES).toContain(rule);
    let caught: unknown;
    try {
      render(join(refusedDir, name));
    } catch (error: unknown) {
      caught = error;
    }
    expect(caught instanceof PolicyError || caught instanceof StackError, String(caught)).toBe(true);
    const error = caught as PolicyError | StackError;
    const reported = new Set(error.violations.map((violation) => violation.rule));
    for (const rule of rules ?? []) {
      expect([...reported], rule).toContain(rule);
      expect(error.message).toContain(`[${rule}]`);
    }
  });
});

type Service = Record<string, unknown>;

function parseSection(document: Record<string, unknown>, key: string): Record<string, unknown> {
  const section = document[key];
  return section !== null && typeof section === 'object' ? (section as Record<string, unknown>) : {};
}

function parseServices(document: Record<string, unknown>): Record<string, Service> {
  return parseSection(document, 'services') as Record<string, Service>;
}

function labelMap(list: readonly string[]): Record<string, string> {
  return Object.fromEntries(list.map((item) => [item.split('=')[0], item.slice(item.indexOf('=') + 1)]));
}

/** Whether `value` holds everything `part` holds: every key of a mapping, every item of a list, equal scalars. */
function contains(value: unknown, part: unknown): boolean {
  if (Array.isArray(part)) {
    return Array.isArray(value) && part.every((item) => value.some((candidate) => contains(candidate, item)));
  }
  if (part !== null && typeof part === 'object') {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    const record = value as Record<string, unknown>;
    return Object.entries(part).every(([key, item]) => key in record && contains(record[key], item));
  }
  return Object.is(value, part);
}
