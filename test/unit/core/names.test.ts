import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { splitImageRef, validateClientName, validateImageRef } from '../../../src/core/names.js';
import { actionSpelling } from '../../support/errors.js';

describe('validateClientName', () => {
  test.each(['ab', 'acme', 'acme-shop', 'a1', 'client-42', 'a'.repeat(40), 'net-a', 'a-netx'])('accepts %j', (name) => {
    expect(validateClientName(name)).toBe(name);
  });

  test.each([
    ['', /empty/],
    ['a', /2 to 40 characters/],
    ['a'.repeat(41), /2 to 40 characters/],
    ['Acme', /lowercase/],
    ['1acme', /start with a letter/],
    ['-acme', /start with a letter/],
    ['acme-', /must not end with '-'/],
    ['acme-net', /must not end with '-net'/],
    ['acme_shop', /lowercase ASCII letters, digits and '-'/],
    ['acme.shop', /lowercase ASCII letters/],
    ['a;rm -rf /', /lowercase ASCII letters/],
    ['$(id)', /start with a letter/],
    ['a$(id)', /lowercase ASCII letters/],
    ['a`id`', /lowercase ASCII letters/],
    ['../x', /start with a letter/],
    ['a/../x', /lowercase ASCII letters/],
    ['\u0441lient', /start with a letter/], // Cyrillic с
    ['cli\u0435nt', /lowercase ASCII letters/], // Cyrillic е
    ['acme\nevil', /lowercase ASCII letters/],
    ['acme ', /lowercase ASCII letters/],
    ['acme\u0000', /lowercase ASCII letters/],
  ])('refuses %j', (name, reason) => {
    const error = catchError(() => validateClientName(name));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).field).toBe('client');
    expect(error.message).toMatch(reason);
    // The value is shown escaped: no raw newline or NUL reaches a log line.
    expect(error.message).not.toContain('\n');
    expect(error.message).not.toContain('\u0000');
  });

  test.each(['traefik', 'monitoring', 'platform', 'swarm-deploy', 'registry', 'ingress', 'host', 'sdr', 'sdl'])(
    'refuses the reserved name %j, naming the input',
    (name) => {
      expect(actionSpelling(() => validateClientName(name, 'name'))).toMatch(
        /^Input "name": the client name "[a-z-]+" is reserved for the platform and swarm-deploy itself$/,
      );
    },
  );

  test.each([
    ['sd-acme', 'sd-'],
    ['swarm-deploy-x', 'swarm-deploy-'],
    ['traefik-public', 'traefik-'],
  ])('refuses %j, which starts with a reserved prefix', (name, prefix) => {
    expect(actionSpelling(() => validateClientName(name))).toContain(
      `Input "client": the client name "${name}" must not start with '${prefix}'`,
    );
  });

  test.each(['traefikx', 'monitoring2', 'my-registry', 'sdx', 'sdr2', 'acme-traefik'])(
    'accepts %j, which only resembles a reserved name',
    (name) => {
      expect(validateClientName(name)).toBe(name);
    },
  );

  test('refuses a 500-character name, saying its length', () => {
    expect(() => validateClientName('x'.repeat(500))).toThrow(/2 to 40 characters long \(it is 500\)/);
  });

  test('names the input it was given', () => {
    expect(actionSpelling(() => validateClientName('Bad', 'tenant'))).toMatch(/^Input "tenant": /);
  });

  test('shows a hostile value escaped and shortened', () => {
    const error = catchError(() => validateClientName(`a\n::error::forged${'x'.repeat(200)}`));
    expect(error.message).toContain('"a\\n::error::forged');
    expect(error.message.length).toBeLessThan(250);
  });
});

describe('validateImageRef', () => {
  const digest = `sha256:${'a1'.repeat(32)}`;
  test.each([
    'nginx',
    'nginx:1.25',
    'library/nginx:latest',
    'localhost:5000/app:1',
    '127.0.0.1:5000/lt/app:v2',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api:3f2c1ab',
    `registry.example.com/acme/web@${digest}`,
    `registry.example.com/acme/web:1.2.3@${digest}`,
    'registry.example.com/a__b/c-d.e:T_A.G-1',
    'MyRegistry.example.com/acme/web:1',
    '[::1]:5000/app:1',
    `app:${'t'.repeat(128)}`,
    'a/b/c/d/e:_tag',
  ])('accepts %s', (ref) => {
    expect(validateImageRef(ref)).toBe(ref);
  });

  test.each([
    ['', /empty/],
    ['Nginx', /lowercase/],
    ['registry.example.com/Acme/web:1', /lowercase/],
    ['nginx:', /tag after ":" is empty/],
    ['nginx:.hidden', /must not start with '.' or '-'/],
    ['nginx:-x', /must not start with '.' or '-'/],
    [`nginx:${'t'.repeat(129)}`, /longer than 128/],
    ['nginx:a/b', /not a valid image reference/],
    ['nginx@sha256:abc', /64 lowercase hex/],
    [`nginx@sha256:${'A1'.repeat(32)}`, /64 lowercase hex/],
    [`nginx@md5:${'a'.repeat(32)}`, /sha256/],
    ['nginx latest', /whitespace/],
    ['nginx\n--privileged', /whitespace/],
    ['$(id)', /not a valid image reference/],
    ['nginx;rm -rf /', /whitespace|not a valid/],
    ['nginx`id`', /not a valid image reference/],
    ['../nginx', /not a valid image reference/],
    ['ngin\u0445:1', /outside printable ASCII/], // Cyrillic х
    ['-nginx', /not a valid image reference/],
    ['a//b', /not a valid image reference/],
    [`${'a'.repeat(256)}:1`, /longer than 255/], // shown shortened in the title and the message
  ])('refuses %j', (ref, reason) => {
    const error = catchError(() => validateImageRef(ref, 'image'));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).field).toBe('image');
    expect(error.message).toMatch(reason);
    expect(error.message).not.toContain('\n');
  });

  test('refuses a 5000-character reference before matching it', () => {
    expect(() => validateImageRef('x'.repeat(5000))).toThrow(/too long/);
  });

  test('a long hostile reference is refused quickly (no regex blow-up)', () => {
    const start = performance.now();
    for (const ref of ['a-'.repeat(120) + '!', 'a.'.repeat(120) + '/', `${'a_'.repeat(100)}:${'x'.repeat(120)}!`]) {
      expect(() => validateImageRef(ref)).toThrow(ConfigurationError);
    }
    expect(performance.now() - start).toBeLessThan(500);
  });
});

describe('splitImageRef', () => {
  const digest = `sha256:${'0f'.repeat(32)}`;
  test.each([
    ['nginx', { repository: 'nginx' }],
    ['nginx:1.25', { repository: 'nginx', tag: '1.25' }],
    ['localhost:5000/app', { repository: 'localhost:5000/app' }],
    ['localhost:5000/app:v1', { repository: 'localhost:5000/app', tag: 'v1' }],
    [`r.example.com/a/b@${digest}`, { repository: 'r.example.com/a/b', digest }],
    [`r.example.com:443/a/b:1@${digest}`, { repository: 'r.example.com:443/a/b', tag: '1', digest }],
  ])('%s', (ref, parts) => {
    expect(splitImageRef(ref)).toStrictEqual(parts);
  });

  test('refuses what validateImageRef refuses', () => {
    expect(() => splitImageRef('Bad:ref')).toThrow(ConfigurationError);
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error: unknown) {
    if (error instanceof Error) return error;
    throw new Error(`threw a non-error: ${String(error)}`);
  }
  throw new Error('expected an error');
}
