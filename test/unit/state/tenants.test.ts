import { describe, expect, test } from 'vitest';
import { Tenant } from '../../../src/core/tenant.js';
import { validateClientName } from '../../../src/core/names.js';
import {
  authorizedKeysFor,
  listTenants,
  publicKeyFromFile,
  readTenant,
  validatePublicKey,
  validateTenantEntry,
  writeTenant,
  type TenantEntry,
} from '../../../src/state/tenants.js';
import { contentHash } from '../../../src/state/versioned.js';
import { ConfigStore } from '../../support/config-store.js';
import { configurationErrorOf } from '../../support/errors.js';
import { ed25519Key, keyLine, rsaKey } from '../../support/ssh-keys.js';

const KEY_A = ed25519Key();
const KEY_B = ed25519Key();
const RSA_3072 = rsaKey(3072);
const RSA_2048 = rsaKey(2048);

function entry(overrides: Partial<Record<keyof TenantEntry, unknown>> = {}): TenantEntry {
  return {
    client: 'shop',
    domains: ['shop.example.com'],
    tier: 'standard',
    policy: 'enforce',
    maxReplicas: 10,
    publishPorts: false,
    managerPlacement: false,
    registries: ['123456789012.dkr.ecr.eu-west-1.amazonaws.com'],
    keys: [KEY_A],
    subjects: ['repo:acme/shop:environment:production'],
    ...overrides,
  } as TenantEntry;
}

/** The field key of the error validating `value` throws. */
function fieldOf(value: unknown): string | undefined {
  return configurationErrorOf(() => validateTenantEntry(value)).field;
}

describe('validateTenantEntry', () => {
  test('accepts a whole entry and normalises it: lowercase names, no repeats, fields in order', () => {
    const given = entry({
      subjects: ['repo:acme/shop:environment:production', 'repo:acme/shop:ref:refs/heads/main'],
      domains: ['Shop.Example.com', 'shop.example.com', 'api.shop.example.com'],
      registries: ['Registry.Example.com:5000', 'docker.io'],
      keys: [KEY_A, RSA_3072, KEY_A],
      client: 'shop',
    });
    const valid = validateTenantEntry(given);
    expect(valid.domains).toEqual(['shop.example.com', 'api.shop.example.com']);
    expect(valid.registries).toEqual(['registry.example.com:5000', 'docker.io']);
    expect(valid.keys).toEqual([KEY_A, RSA_3072]);
    expect(Object.keys(valid)).toEqual([
      'client',
      'domains',
      'tier',
      'policy',
      'maxReplicas',
      'publishPorts',
      'managerPlacement',
      'registries',
      'keys',
      'subjects',
    ]);
  });

  test('accepts empty lists (a client deployed by keys only, or by subjects only)', () => {
    expect(validateTenantEntry(entry({ subjects: [], domains: [] })).subjects).toEqual([]);
    expect(validateTenantEntry(entry({ keys: [] })).keys).toEqual([]);
  });

  test.each([
    ['client', 'Shop', 'client'],
    ['client', 'traefik', 'client'],
    ['client', 'monitoring', 'client'],
    ['client', 'sdt', 'client'],
    ['client', 'swarm-deploy-x', 'client'],
    ['client', 'shop\nx', 'client'],
    ['client', 42, 'client'],
    ['domains', ['*.example.com'], 'domain'],
    ['domains', ['shop.example.com\nHost(`evil.com`)'], 'domain'],
    ['domains', ['shop.example.com`) || Host(`evil.com'], 'domain'],
    ['domains', 'shop.example.com', 'domain'],
    ['domains', [7], 'domain'],
    ['tier', 'gold', 'tier'],
    ['tier', 'Standard', 'tier'],
    ['policy', 'off', 'policy'],
    ['policy', 'ENFORCE', 'policy'],
    ['maxReplicas', 0, 'max-replicas'],
    ['maxReplicas', 1001, 'max-replicas'],
    ['maxReplicas', 2.5, 'max-replicas'],
    ['maxReplicas', '10', 'max-replicas'],
    ['publishPorts', 'true', 'publish-ports'],
    ['publishPorts', 1, 'publish-ports'],
    ['managerPlacement', 'yes', 'manager-placement'],
    ['registries', ['https://registry.example.com'], 'registry'],
    ['registries', ['registry.example.com/shop'], 'registry'],
    ['registries', ['registry.example.com:99999'], 'registry'],
    ['registries', ['reg istry'], 'registry'],
    ['keys', [`${KEY_A} laptop`], 'key'],
    ['keys', [`command="sh" ${KEY_A}`], 'key'],
    ['keys', [`restrict ${KEY_A}`], 'key'],
    ['keys', [`${KEY_A}\nssh-ed25519 AAAA`], 'key'],
    ['keys', [`${KEY_A}"`], 'key'],
    ['keys', [RSA_2048], 'key'],
    ['keys', ['ssh-dss AAAAB3NzaC1kc3MAAACBAP'], 'key'],
    ['keys', [`ecdsa-sha2-nistp256 ${KEY_A.split(' ')[1]}`], 'key'],
    ['keys', ['ssh-ed25519 AAAA'], 'key'],
    ['subjects', ['repo:acme/*:environment:production'], 'subject'],
    ['subjects', ['repo:acme/shop:environment:prod uction'], 'subject'],
    ['subjects', ['repo:acme/shop:environment:"x"'], 'subject'],
    ['subjects', ['acme/shop'], 'subject'],
    ['subjects', ['repo:acme/shop:ref:refs/heads/main\n'], 'subject'],
  ])('refuses %s = %j, naming %s', (key, value, field) => {
    expect(fieldOf(entry({ [key]: value }))).toBe(field);
  });

  test.each(['client', 'domains', 'tier', 'policy', 'maxReplicas', 'publishPorts', 'registries', 'keys', 'subjects'])(
    'refuses an entry without %s',
    (key) => {
      const given: Record<string, unknown> = { ...entry() };
      delete given[key];
      expect(configurationErrorOf(() => validateTenantEntry(given)).message).toContain(`no ${key}`);
    },
  );

  test('refuses unknown fields, naming them', () => {
    const error = configurationErrorOf(() => validateTenantEntry({ ...entry(), admin: true, __proto__x: 1 }));
    expect(error.message).toBe('the tenant entry has unknown fields: "admin", "__proto__x"');
  });

  test.each([null, [], 'shop', 3])('refuses %j as an entry', (value) => {
    expect(configurationErrorOf(() => validateTenantEntry(value)).message).toBe('a tenant entry must be a JSON object');
  });

  test('refuses more than 100 values in a list', () => {
    const domains = Array.from({ length: 101 }, (_v, i) => `d${i}.example.com`);
    expect(fieldOf(entry({ domains }))).toBe('domain');
  });
});

describe('validatePublicKey', () => {
  test('takes ed25519 keys and RSA keys of 3072 bits or more', () => {
    expect(validatePublicKey(KEY_A)).toBe(KEY_A);
    expect(validatePublicKey(RSA_3072)).toBe(RSA_3072);
  });

  test('refuses an RSA key of 2048 bits, saying how many it has', () => {
    expect(configurationErrorOf(() => validatePublicKey(RSA_2048)).message).toContain('RSA key of 2048 bits');
  });

  test('refuses a blob of another type than the line claims, a short ed25519 key, and trailing bytes', () => {
    const rsaBlob = RSA_3072.split(' ')[1] as string;
    expect(() => validatePublicKey(`ssh-ed25519 ${rsaBlob}`)).toThrow(/not a well-formed ssh-ed25519/);
    expect(() => validatePublicKey(keyLine('ssh-ed25519', Buffer.alloc(31)))).toThrow(/not a well-formed/);
    expect(() => validatePublicKey(keyLine('ssh-ed25519', Buffer.alloc(32), Buffer.alloc(1)))).toThrow(
      /not a well-formed/,
    );
  });

  test('refuses base64 that does not read back as itself (hidden bytes)', () => {
    const [type, blob] = KEY_A.split(' ') as [string, string];
    expect(() => validatePublicKey(`${type} ${blob.slice(0, -1)}`)).toThrow(/not a well-formed/);
  });
});

describe('publicKeyFromFile', () => {
  test('drops the comment and a final newline', () => {
    expect(publicKeyFromFile(`${KEY_A} ops@laptop\n`)).toBe(KEY_A);
    expect(publicKeyFromFile(`${RSA_3072}\r\n`)).toBe(RSA_3072);
  });

  test('refuses options before the key, and files of several lines', () => {
    expect(configurationErrorOf(() => publicKeyFromFile(`no-pty ${KEY_A}`)).field).toBe('key');
    expect(configurationErrorOf(() => publicKeyFromFile(`${KEY_A}\n${KEY_B}\n`)).message).toBe(
      'the key file must hold exactly one public key line',
    );
  });
});

describe('authorizedKeysFor', () => {
  test('writes one forced-command line per key, for that key’s client only', () => {
    const text = authorizedKeysFor([
      entry({ keys: [KEY_A, RSA_3072] }),
      entry({ client: 'blog', domains: ['blog.example.com'], keys: [KEY_B] }),
      entry({ client: 'docs', keys: [] }),
    ]);
    expect(text).toBe(
      `restrict,command="sudo -n -u swarm-gate -- /usr/local/lib/swarm-deploy/gate --client shop" ${KEY_A} swarm-deploy:shop\n` +
        `restrict,command="sudo -n -u swarm-gate -- /usr/local/lib/swarm-deploy/gate --client shop" ${RSA_3072} swarm-deploy:shop\n` +
        `restrict,command="sudo -n -u swarm-gate -- /usr/local/lib/swarm-deploy/gate --client blog" ${KEY_B} swarm-deploy:blog\n`,
    );
  });

  test('is empty for no entries', () => {
    expect(authorizedKeysFor([])).toBe('');
  });

  test('refuses a key given to two clients', () => {
    const error = configurationErrorOf(() => authorizedKeysFor([entry(), entry({ client: 'blog' })]));
    expect(error.field).toBe('key');
    expect(error.message).toContain('given to both shop and blog');
  });

  test('validates every entry again: a key line with an option or a newline never reaches the text', () => {
    for (const key of [`command="/bin/sh" ${KEY_A}`, `${KEY_A}\ncommand="/bin/sh" ${KEY_B}`, `${KEY_A} x,y`]) {
      expect(configurationErrorOf(() => authorizedKeysFor([entry({ keys: [key] })])).field).toBe('key');
    }
    expect(configurationErrorOf(() => authorizedKeysFor([entry({ client: 'shop" x' })])).field).toBe('client');
  });
});

describe('names and labels', () => {
  test('an entry is the config sdt.<client>.<hash of its content>, labelled for the platform', async () => {
    const store = new ConfigStore();
    const written = await writeTenant(store.runner, entry());
    const content = JSON.stringify(validateTenantEntry(entry()));
    expect(written).toEqual({ config: `sdt.shop.${contentHash(content)}`, changed: true, pruned: [] });
    const stored = store.configs.get(written.config);
    expect(stored?.data).toBe(content);
    expect(stored?.labels).toEqual({ 'swarm-deploy.tenant': 'shop', 'swarm-deploy.kind': 'tenant' });
    expect(Tenant.parse('shop').isTenantConfig(written.config)).toBe(true);
    expect(Tenant.parse('sho').isTenantConfig(written.config)).toBe(false);
  });

  test('the entry carries no client label: nothing that lists a client’s own objects sees it', async () => {
    const store = new ConfigStore();
    await writeTenant(store.runner, entry());
    const labels = [...store.configs.values()][0]?.labels ?? {};
    expect(Object.keys(labels)).not.toContain('swarm-deploy.client');
  });

  test('sdt is a reserved client name', () => {
    expect(() => validateClientName('sdt')).toThrow(/reserved/);
  });
});

describe('readTenant, writeTenant, listTenants', () => {
  test('reads nothing for a client the registry does not know', async () => {
    const store = new ConfigStore();
    expect(await readTenant(store.runner, 'shop')).toBeUndefined();
    expect(store.runner.commands()).toEqual([
      'docker config ls --filter label=swarm-deploy.tenant=shop --filter label=swarm-deploy.kind=tenant --format {{.Name}}',
    ]);
  });

  test('reads back what was written', async () => {
    const store = new ConfigStore();
    await writeTenant(store.runner, entry());
    expect(await readTenant(store.runner, 'shop')).toEqual(validateTenantEntry(entry()));
  });

  test('an update writes a new version and removes the older one', async () => {
    const store = new ConfigStore();
    const first = await writeTenant(store.runner, entry());
    const second = await writeTenant(store.runner, entry({ maxReplicas: 3 }));
    expect(second).toEqual({ config: expect.stringMatching(/^sdt\.shop\./), changed: true, pruned: [first.config] });
    expect(store.names()).toEqual([second.config]);
    expect((await readTenant(store.runner, 'shop'))?.maxReplicas).toBe(3);
  });

  test('writing the entry the newest version holds changes nothing but prunes what is older', async () => {
    const store = new ConfigStore();
    const old = store.put('sdt.shop.00000000', JSON.stringify(entry({ maxReplicas: 1 })), {
      'swarm-deploy.tenant': 'shop',
      'swarm-deploy.kind': 'tenant',
    });
    const first = await writeTenant(store.runner, entry());
    store.runner.calls.length = 0;
    const again = await writeTenant(store.runner, entry());
    expect(first.pruned).toEqual([old.name]);
    expect(again).toEqual({ config: first.config, changed: false, pruned: [] });
    expect(store.runner.commands().filter((c) => /config (create|rm)/.test(c))).toEqual([]);
  });

  test('the newest version wins on read, by the managers’ creation time (nanoseconds, trailing zeros dropped)', async () => {
    const store = new ConfigStore(100);
    const labels = { 'swarm-deploy.tenant': 'shop', 'swarm-deploy.kind': 'tenant' };
    const older = JSON.stringify(validateTenantEntry(entry({ maxReplicas: 1 })));
    const newer = JSON.stringify(validateTenantEntry(entry({ maxReplicas: 2 })));
    // Created at …:00.1Z and …:00.12Z would sort the wrong way round as plain strings.
    store.put(`sdt.shop.${contentHash(newer)}`, newer, labels).createdAt = '2026-12-01T10:00:00.12Z';
    store.put(`sdt.shop.${contentHash(older)}`, older, labels).createdAt = '2026-12-01T10:00:00.1Z';
    expect((await readTenant(store.runner, 'shop'))?.maxReplicas).toBe(2);
  });

  test('going back to an earlier entry makes it the newest again', async () => {
    const store = new ConfigStore();
    const labels = { 'swarm-deploy.tenant': 'shop', 'swarm-deploy.kind': 'tenant' };
    const a = JSON.stringify(validateTenantEntry(entry()));
    // A earlier version left behind (a prune that failed), then B.
    store.put(`sdt.shop.${contentHash(a)}`, a, labels);
    await writeTenant(store.runner, entry({ maxReplicas: 5 }));
    store.put(`sdt.shop.${contentHash(a)}`, a, labels).createdAt = '2026-12-01T09:00:00Z';
    const back = await writeTenant(store.runner, entry());
    expect(back.changed).toBe(true);
    expect((await readTenant(store.runner, 'shop'))?.maxReplicas).toBe(10);
    expect(store.names()).toEqual([back.config]);
  });

  test('a write that landed before a dropped connection is not an error when repeated', async () => {
    const store = new ConfigStore();
    // The runner repeats the create after the link dropped: the first attempt had landed.
    store.beforeCreate = (name, data) => {
      store.put(name, data, { 'swarm-deploy.tenant': 'shop', 'swarm-deploy.kind': 'tenant' });
      return undefined;
    };
    const written = await writeTenant(store.runner, entry());
    expect(written).toMatchObject({ changed: true, pruned: [] });
    expect(store.runner.commands().filter((c) => c.startsWith('docker config create'))).toHaveLength(1);
    expect(await readTenant(store.runner, 'shop')).toEqual(validateTenantEntry(entry()));
  });

  test('any other failure of the create is an error', async () => {
    const store = new ConfigStore();
    store.beforeCreate = () => ({ code: 1, stderr: 'Error response from daemon: rpc error: node lost leader status' });
    await expect(writeTenant(store.runner, entry())).rejects.toThrow(/lost leader status/);
  });

  test('an invalid entry writes nothing', async () => {
    const store = new ConfigStore();
    await expect(writeTenant(store.runner, entry({ policy: 'off' }))).rejects.toThrow(/not one of enforce, warn/);
    expect(store.runner.calls).toEqual([]);
  });

  test.each([
    ['a config whose content is not its name’s hash', (content: string) => ['sdt.shop.00000000', content]],
    ['an entry of another client', () => ['', JSON.stringify(validateTenantEntry(entry({ client: 'blog' })))]],
    ['an entry with an unknown field', () => ['', JSON.stringify({ ...validateTenantEntry(entry()), extra: 1 })]],
    ['an entry that is not JSON', () => ['', '{']],
  ])('the newest version being %s refuses the read (fail closed)', async (_what, make) => {
    const store = new ConfigStore();
    await writeTenant(store.runner, entry());
    const [givenName, data] = make(JSON.stringify(validateTenantEntry(entry({ maxReplicas: 1000 })))) as [
      string,
      string,
    ];
    const name = givenName || `sdt.shop.${contentHash(data)}`;
    store.put(name, data, { 'swarm-deploy.tenant': 'shop', 'swarm-deploy.kind': 'tenant' });
    await expect(readTenant(store.runner, 'shop')).rejects.toThrow(
      new RegExp(`the tenant registry entry ${name.replace(/\./g, '\\.')} of shop cannot be used`),
    );
  });

  test('a config labelled as shop’s entry but not named as one is ignored', async () => {
    const store = new ConfigStore();
    store.put('shop_app_1234abcd', JSON.stringify(entry({ maxReplicas: 1000 })), {
      'swarm-deploy.tenant': 'shop',
      'swarm-deploy.kind': 'tenant',
    });
    expect(await readTenant(store.runner, 'shop')).toBeUndefined();
  });

  test('reading refuses a client name that is not one', async () => {
    const store = new ConfigStore();
    await expect(readTenant(store.runner, 'traefik')).rejects.toThrow(/reserved/);
    expect(store.runner.calls).toEqual([]);
  });

  test('lists every client’s newest entry, by name, in two commands', async () => {
    const store = new ConfigStore();
    await writeTenant(store.runner, entry({ client: 'shop', maxReplicas: 1 }));
    await writeTenant(store.runner, entry({ client: 'blog', keys: [KEY_B] }));
    await writeTenant(store.runner, entry({ client: 'shop', maxReplicas: 4 }));
    store.runner.calls.length = 0;
    const entries = await listTenants(store.runner);
    expect(entries.map((e) => [e.client, e.maxReplicas])).toEqual([
      ['blog', 10],
      ['shop', 4],
    ]);
    expect(store.runner.commands()).toEqual([
      'docker config ls --filter label=swarm-deploy.kind=tenant --format {{.Name}}',
      expect.stringMatching(/^docker config inspect sdt\.\S+ sdt\.\S+$/),
    ]);
  });

  test('lists nothing from an empty registry, in one command', async () => {
    const store = new ConfigStore();
    expect(await listTenants(store.runner)).toEqual([]);
    expect(store.runner.calls).toHaveLength(1);
  });
});
