import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, parseKnownHosts, pinnedKeyTypes, verifyHostKey } from '../../../src/transport/known-hosts.js';

// Two real ed25519 public keys (blobs as in known_hosts).
const KEY_A = 'AAAAC3NzaC1lZDI1NTE5AAAAICFotjHUIhtdXXQ5MR0Rc4h1yXxfeGAgDpKQkZ//2W+4';
const KEY_B = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const blobA = Buffer.from(KEY_A, 'base64');
const blobB = Buffer.from(KEY_B, 'base64');

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known hosts', () => {
  it.each([
    ['plain host on port 22', `manager-1.example.com ssh-ed25519 ${KEY_A}`, 'manager-1.example.com', 22],
    ['bracketed host and port', `[10.0.0.5]:2222 ssh-ed25519 ${KEY_A}`, '10.0.0.5', 2222],
    ['a list of names', `m1,10.0.0.5 ssh-ed25519 ${KEY_A} comment`, '10.0.0.5', 22],
    ['a wildcard', `*.swarm.example.com ssh-ed25519 ${KEY_A}`, 'm2.swarm.example.com', 22],
    ['a hashed name', `${hashed('[10.0.0.7]:2200')} ssh-ed25519 ${KEY_A}`, '10.0.0.7', 2200],
    ['a bare fingerprint', fingerprintOf(blobA), 'anything', 22],
    ['a host-scoped fingerprint', `10.0.0.5 ${fingerprintOf(blobA)}`, '10.0.0.5', 22],
  ])('accepts the pinned key for %s', (_label, line, host, port) => {
    expect(verifyHostKey(parseKnownHosts(line), host, port, blobA)).toEqual({ ok: true });
  });

  // Written by OpenSSH itself (`ssh-keygen -H` over "bastion.example.com …" and "[10.0.0.7]:2200 …"),
  // as an operator's ~/.ssh/known_hosts holds them with HashKnownHosts yes.
  const HASHED_BY_OPENSSH = [
    `|1|+LW/zWHYmxFR0rJVPZ9ufc/k2S4=|DNBoRrU6zii2IzurA11LK30jhBo= ssh-ed25519 ${KEY_A}`,
    `|1|kRWzxfsExNuLz+A8wgFWkDrlDpo=|yLVHbbySlDxE6Rr7zU+c+tg5DPY= ssh-ed25519 ${KEY_A}`,
  ].join('\n');

  it.each([
    ['a host on port 22', 'bastion.example.com', 22],
    ['a host on another port, as [host]:port', '10.0.0.7', 2200],
  ])('matches entries hashed by ssh-keygen -H: %s', (_label, host, port) => {
    expect(verifyHostKey(parseKnownHosts(HASHED_BY_OPENSSH), host, port, blobA)).toEqual({ ok: true });
  });

  it.each([
    ['another host', 'other.example.com', 22],
    ['the same host on another port', 'bastion.example.com', 2222],
    ['the same address on port 22', '10.0.0.7', 22],
  ])('refuses %s against hashed entries: no entry, never trusted on first use', (_label, host, port) => {
    expect(verifyHostKey(parseKnownHosts(HASHED_BY_OPENSSH), host, port, blobA)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no known-hosts entry/),
    });
  });

  it('refuses a different key for a hashed entry', () => {
    expect(verifyHostKey(parseKnownHosts(HASHED_BY_OPENSSH), 'bastion.example.com', 22, blobB)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/HOST KEY MISMATCH for bastion\.example\.com/),
    });
  });

  it('refuses another key for a pinned host, saying how to get the right line', () => {
    const verdict = verifyHostKey(parseKnownHosts(`[10.0.0.5]:2222 ssh-ed25519 ${KEY_A}`), '10.0.0.5', 2222, blobB);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toMatch(
      /HOST KEY MISMATCH for \[10\.0\.0\.5\]:2222: the server offered ssh-ed25519 SHA256:/,
    );
    expect(!verdict.ok && verdict.reason).toMatch(/ssh-keyscan -p 2222 10\.0\.0\.5/);
  });

  it('refuses a host with no entry (no trust on first use) and a port that does not match', () => {
    const pins = parseKnownHosts(`10.0.0.5 ssh-ed25519 ${KEY_A}`);
    expect(verifyHostKey(pins, '10.0.0.6', 22, blobA)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no known-hosts entry/),
    });
    expect(verifyHostKey(pins, '10.0.0.5', 2222, blobA).ok).toBe(false);
  });

  it('honours negation and @revoked', () => {
    expect(
      verifyHostKey(
        parseKnownHosts(`*.example.com,!bad.example.com ssh-ed25519 ${KEY_A}`),
        'bad.example.com',
        22,
        blobA,
      ).ok,
    ).toBe(false);
    const revoked = parseKnownHosts(`@revoked * ssh-ed25519 ${KEY_A}\nhost ssh-ed25519 ${KEY_A}`);
    expect(verifyHostKey(revoked, 'host', 22, blobA)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/@revoked/),
    });
  });

  it.each([
    ['', /holds no key/],
    ['just-a-host', /line 1 is neither a known_hosts line/],
    [`host ssh-ed25519 ${KEY_A.slice(0, 30)}`, /line 1: the key data is not a valid ssh-ed25519/],
    [`host ssh-rsa ${KEY_A}`, /not a valid ssh-rsa public key/],
    [`@cert-authority * ssh-ed25519 ${KEY_A}`, /marker @cert-authority is not supported/],
  ])('refuses a malformed known-hosts input %#', (text, message) => {
    expect(() => parseKnownHosts(text)).toThrow(message);
  });

  it('asks the server only for the key types pinned for that host', () => {
    const pins = parseKnownHosts(`[h]:2222 ssh-ed25519 ${KEY_A}\nother ssh-ed25519 ${KEY_B}`);
    expect(pinnedKeyTypes(pins, 'h', 2222)).toEqual(['ssh-ed25519']);
    expect(pinnedKeyTypes(parseKnownHosts(fingerprintOf(blobA)), 'h', 22)).toBeUndefined();
  });
});
