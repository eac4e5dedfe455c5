/**
 * The SSH public key blob (RFC 4253, section 6.6): a sequence of uint32-length-prefixed strings,
 * the key type first, then the key material. Read by the host-key pinning (known_hosts) and by
 * the tenant registry (the keys a client deploys with).
 */

/** The blob's strings, or undefined when it is not a whole sequence of at least two of them. */
export function keyBlobParts(blob: Buffer): Buffer[] | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 4 <= blob.length) {
    const length = blob.readUInt32BE(offset);
    if (offset + 4 + length > blob.length) return undefined;
    parts.push(blob.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return offset === blob.length && parts.length >= 2 ? parts : undefined;
}
