import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { contentHash, versionedName } from '../../../src/state/versioned.js';
import { Tenant } from '../../../src/core/tenant.js';

describe('versionedName', () => {
  // Known SHA-256 vectors: sha256("") = e3b0c442…, sha256("abc") = ba7816bf…
  test.each([
    ['acme', 'db-password', '', 'acme_db-password_e3b0c442'],
    ['acme', 'db-password', 'abc', 'acme_db-password_ba7816bf'],
    ['shop-eu', 'nginx.conf', Buffer.from('abc'), 'shop-eu_nginx.conf_ba7816bf'],
    ['acme', 'API_KEY', 'abc', 'acme_API_KEY_ba7816bf'],
  ])('%s %s', (client, name, content, expected) => {
    expect(versionedName(Tenant.parse(client), name, content)).toBe(expected);
  });

  test('the same content gives the same name; any change gives another', () => {
    expect(versionedName(Tenant.parse('acme'), 'x', 'secret')).toBe(
      versionedName(Tenant.parse('acme'), 'x', Buffer.from('secret')),
    );
    expect(versionedName(Tenant.parse('acme'), 'x', 'secret')).not.toBe(
      versionedName(Tenant.parse('acme'), 'x', 'secret\n'),
    );
    expect(contentHash('secret')).toMatch(/^[0-9a-f]{8}$/);
  });

  test.each([
    ['acme', '../x', /may contain only/],
    ['acme', 'a b', /may contain only/],
    ['acme', '-x', /may contain only/],
    ['acme', 'x;id', /may contain only/],
    ['acme', '', /may contain only/],
    ['acme', 'сecret', /may contain only/], // Cyrillic с
    ['Acme', 'x', /lowercase/],
    ['a'.repeat(40), 'name-that-is-long', /too long.*at most 14 characters/],
  ])('refuses client %j name %j', (client, name, message) => {
    expect(() => versionedName(Tenant.parse(client), name, 'v')).toThrow(ConfigurationError);
    expect(() => versionedName(Tenant.parse(client), name, 'v')).toThrow(message);
  });

  test("the longest allowed name fits Docker's 64 characters", () => {
    const name = versionedName(Tenant.parse('a'.repeat(40)), 'n'.repeat(14), 'v');
    expect(name).toHaveLength(64);
  });
});
