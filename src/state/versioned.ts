import { createHash } from 'node:crypto';
import { ConfigurationError } from '../core/errors.js';
import { showValue } from '../core/names.js';
import type { Tenant } from '../core/tenant.js';

/**
 * Swarm secrets and configs are immutable: `docker stack deploy` with new content under an
 * existing name fails ("only updates to Labels are allowed"). Naming each version by a hash of
 * its content makes unchanged content map to the same object (nothing new is created) and a
 * changed value to a new object, while older versions stay for a rollback.
 */

/** Docker's grammar for secret and config names, and its 64-character limit. */
const OBJECT_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;
export const OBJECT_NAME_MAX = 64;
export const HASH_LENGTH = 8;

/** The logical name a stack file uses for a secret or config (`secrets: {db-password: {}}`). */
export function validateObjectName(name: string, input = 'secrets'): string {
  if (!OBJECT_NAME.test(name)) {
    throw new ConfigurationError(
      `the name ${showValue(name)} may contain only letters, digits, '_', '.' and '-', starting and ending with a letter or digit`,
      input,
    );
  }
  return name;
}

export function contentHash(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex').slice(0, HASH_LENGTH);
}

/** `<client>_<name>_<first 8 hex of sha256(content)>` */
export function versionedName(tenant: Tenant, name: string, content: string | Buffer, input = 'secrets'): string {
  validateObjectName(name, input);
  const versioned = tenant.scoped(`${name}_${contentHash(content)}`);
  if (versioned.length > OBJECT_NAME_MAX) {
    const room = OBJECT_NAME_MAX - tenant.scoped('').length - HASH_LENGTH - 1;
    throw new ConfigurationError(
      `the name ${showValue(name)} is too long: with the client prefix and the content hash it would exceed ` +
        `Docker's ${OBJECT_NAME_MAX} characters; use at most ${room} characters`,
      input,
    );
  }
  return versioned;
}
