import { generateKeyPairSync } from 'node:crypto';

/** An SSH wire string: uint32 length, then the bytes. */
function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** An SSH mpint from unsigned big-endian bytes (a leading zero when the high bit is set). */
function mpint(bytes: Buffer): Buffer {
  return sshString((bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes);
}

/** A key blob made of these strings, as `<type> <base64>`. */
export function keyLine(type: string, ...parts: Buffer[]): string {
  return `${type} ${Buffer.concat([sshString(Buffer.from(type)), ...parts.map(sshString)]).toString('base64')}`;
}

/** A fresh ed25519 public key line, `ssh-ed25519 <base64>`. */
export function ed25519Key(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return keyLine('ssh-ed25519', raw);
}

/** A fresh RSA public key line of `bits` bits, `ssh-rsa <base64>`. */
export function rsaKey(bits: number): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = publicKey.export({ format: 'jwk' });
  const e = Buffer.from(jwk.e ?? '', 'base64url');
  const n = Buffer.from(jwk.n ?? '', 'base64url');
  const blob = Buffer.concat([sshString(Buffer.from('ssh-rsa')), mpint(e), mpint(n)]);
  return `ssh-rsa ${blob.toString('base64')}`;
}
