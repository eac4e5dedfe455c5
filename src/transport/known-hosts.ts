import { createHash, createHmac } from 'node:crypto';
import { ConfigurationError } from '../core/errors.js';
import { keyBlobParts } from '../core/ssh-key.js';

/** One pinned key: a known_hosts line or a bare/host-scoped `SHA256:` fingerprint. */
export interface PinnedKey {
  /** Host patterns as in known_hosts; empty means "any host given in `host`". */
  patterns: string[];
  /** `ssh-ed25519`, … ; undefined for a fingerprint pin. */
  keyType: string | undefined;
  /** `SHA256:<base64 without padding>` of the key blob. */
  fingerprint: string;
  revoked: boolean;
}

const KEY_TYPES =
  /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The type name inside an SSH public key blob (uint32 length + string). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const length = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

/** An SSH public key blob of the type it claims to be. */
function wellFormedKey(blob: Buffer, type: string): boolean {
  const parts = keyBlobParts(blob);
  if (parts === undefined || parts[0]?.toString('latin1') !== type) return false;
  return type !== 'ssh-ed25519' || (parts.length === 2 && parts[1]?.length === 32);
}

/** Parse the `known-hosts` input. Throws a ConfigurationError naming the bad line. */
export function parseKnownHosts(text: string, inputName = 'known-hosts'): PinnedKey[] {
  const keys: PinnedKey[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      const marker = fields.shift();
      if (marker === '@revoked') revoked = true;
      else
        throw new ConfigurationError(
          `line ${index + 1}: marker ${marker} is not supported; pin the host's own key`,
          inputName,
        );
    }
    const where = `line ${index + 1}`;
    if (fields.length === 1 && FINGERPRINT.test(fields[0] as string)) {
      keys.push({ patterns: [], keyType: undefined, fingerprint: normalize(fields[0] as string), revoked });
      return;
    }
    if (fields.length >= 2 && FINGERPRINT.test(fields[1] as string)) {
      keys.push({
        patterns: (fields[0] as string).split(','),
        keyType: undefined,
        fingerprint: normalize(fields[1] as string),
        revoked,
      });
      return;
    }
    const [patterns, type, data] = fields;
    if (patterns === undefined || type === undefined || data === undefined || !KEY_TYPES.test(type)) {
      throw new ConfigurationError(
        `${where} is neither a known_hosts line ("host key-type base64-key") nor a SHA256: fingerprint`,
        inputName,
      );
    }
    const blob = Buffer.from(data, 'base64');
    if (!wellFormedKey(blob, type)) {
      throw new ConfigurationError(`${where}: the key data is not a valid ${type} public key`, inputName);
    }
    keys.push({ patterns: patterns.split(','), keyType: type, fingerprint: fingerprintOf(blob), revoked });
  });
  if (keys.length === 0) {
    throw new ConfigurationError(
      "holds no key: give the manager's known_hosts line(s) or SHA256: fingerprint(s)",
      inputName,
    );
  }
  return keys;
}

function normalize(fp: string): string {
  return fp.replace(/=+$/, '');
}

/** The name OpenSSH looks a host up under: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const parts = pattern.split('|'); // |1|salt|hash
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] as string, 'base64');
  return createHmac('sha1', salt).update(name).digest('base64') === parts[3];
}

export function patternsMatch(patterns: string[], host: string, port: number): boolean {
  if (patterns.length === 0) return true;
  const name = knownHostsName(host, port);
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const p = negated ? pattern.slice(1) : pattern;
    const hit = p.startsWith('|1|') ? hashedMatch(p, name) : globMatch(p, name);
    if (hit && negated) return false;
    if (hit) matched = true;
  }
  return matched;
}

export type HostKeyVerdict = { ok: true } | { ok: false; reason: string };

/** Decide whether the key a server offered is pinned for that host. */
export function verifyHostKey(pins: PinnedKey[], host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const fingerprint = fingerprintOf(keyBlob);
  const type = keyTypeOf(keyBlob);
  const forHost = pins.filter((pin) => patternsMatch(pin.patterns, host, port));
  if (forHost.some((pin) => pin.revoked && pin.fingerprint === fingerprint)) {
    return {
      ok: false,
      reason: `the host key of ${knownHostsName(host, port)} (${type} ${fingerprint}) is marked @revoked`,
    };
  }
  if (forHost.some((pin) => !pin.revoked && pin.fingerprint === fingerprint)) return { ok: true };
  const how =
    `Obtain the right line from a trusted path, e.g. on the host itself: ` +
    `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub (fingerprint) or ` +
    `\`ssh-keyscan -p ${port} ${host}\` compared against that fingerprint, and put it in the known-hosts input (a secret such as SWARM_KNOWN_HOSTS).`;
  if (forHost.length === 0) {
    return {
      ok: false,
      reason: `no known-hosts entry for ${knownHostsName(host, port)}; the server offered ${type} ${fingerprint}. Refusing to trust it on first use. ${how}`,
    };
  }
  return {
    ok: false,
    reason:
      `HOST KEY MISMATCH for ${knownHostsName(host, port)}: the server offered ${type} ${fingerprint}, ` +
      `which is not pinned in known-hosts (pinned: ${forHost.map((p) => p.fingerprint).join(', ')}). ` +
      `This may be an attack or a rebuilt server; refusing to connect. ${how}`,
  };
}

/** Key types pinned for a host, so the server is asked for a key we can check (as OpenSSH does). */
export function pinnedKeyTypes(pins: PinnedKey[], host: string, port: number): string[] | undefined {
  const forHost = pins.filter((pin) => !pin.revoked && patternsMatch(pin.patterns, host, port));
  if (forHost.some((pin) => pin.keyType === undefined)) return undefined;
  const types = [...new Set(forHost.map((pin) => pin.keyType as string))];
  return types.length > 0 ? types : undefined;
}
