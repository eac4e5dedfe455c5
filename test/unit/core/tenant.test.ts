import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { isReleaseConfigName, Tenant } from '../../../src/core/tenant.js';
import { actionSpelling } from '../../support/errors.js';

describe('Tenant', () => {
  test.each([
    ['a;rm -rf /'],
    ['$(id)'],
    ['../x'],
    ['\u0441lient'],
    ['acme\n'],
    ['x'.repeat(500)],
    ['x-net'],
    ['traefik'],
    ['sd-x'],
  ])('refuses %j, naming the field it came from', (name) => {
    expect(actionSpelling(() => Tenant.parse(name))).toMatch(/^Input "client": /);
    expect(() => Tenant.parse(name, 'name')).toThrow(ConfigurationError);
    expect(actionSpelling(() => Tenant.parse(name, 'name'))).toMatch(/^Input "name": /);
  });

  test('owns the names derived from the client name', () => {
    const shop = Tenant.parse('shop');
    expect(shop.name).toBe('shop');
    expect(shop.stack).toBe('shop');
    expect(shop.network).toBe('shop-net');
    expect(shop.scoped('web')).toBe('shop_web');
    expect(shop.router('web.v2')).toBe('shop_web-v2');
    expect(shop.lockConfig).toBe('sdl.shop');
    expect(shop.releaseConfig('20261123-034512-a1b')).toBe('sdr.shop.20261123-034512-a1b');
    expect(`${shop}`).toBe('shop');
  });

  test('tells its own objects from another client’s, even when one name prefixes the other', () => {
    const shop = Tenant.parse('shop');
    expect(shop.owns('shop_web')).toBe(true);
    expect(shop.owns('shop-eu_web')).toBe(false);
    expect(shop.owns('shopx_web')).toBe(false);
    expect(shop.unscoped('shop_web')).toBe('web');
    expect(shop.unscoped('blog_web')).toBe('blog_web');
    expect(shop.ownsRouter('shop_web')).toBe(true);
    expect(shop.ownsRouter('shop')).toBe(false);
    expect(shop.ownsRouter('shopx_web')).toBe(false);
    expect(shop.ownsRouter('shop-eu_web')).toBe(false);
    expect(shop.ownsRouter('SHOP_Web')).toBe(true);
    expect(shop.ownsRouter('shop_')).toBe(false);
    expect(shop.isReleaseConfig('sdr.shop.20261123-034512-a1b')).toBe(true);
    expect(shop.isReleaseConfig('sdr.shop-eu.20261123-034512-a1b')).toBe(false);
    expect(isReleaseConfigName('sdr.shop-eu.20261123-034512-a1b')).toBe(true);
    expect(isReleaseConfigName('sdl.shop')).toBe(false);
  });

  test('labels and filters mark its objects by client and role', () => {
    const shop = Tenant.parse('shop');
    expect(shop.labels('lock')).toEqual(['swarm-deploy.client=shop', 'swarm-deploy.kind=lock']);
    expect(shop.filters('release')).toEqual([
      '--filter',
      'label=swarm-deploy.client=shop',
      '--filter',
      'label=swarm-deploy.kind=release',
    ]);
  });
});
