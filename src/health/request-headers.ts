import { ConfigurationError } from '../core/errors.js';
import type { Masker } from '../core/inputs.js';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * `Name: value` lines (authentication for the probed endpoint). Each value is masked before
 * anything else happens, and no error ever quotes a value: only the line number, and a name once it is well formed.
 */
export function parseHeaderLines(text: string, mask: Masker, input = 'headers'): Record<string, string> {
  const headers: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const where = `line ${index + 1}`;
    if (colon <= 0) throw new ConfigurationError(`${where} is not "Name: value"`, input);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (value !== '') mask(value);
    // The name is not quoted either: a malformed line may well be a pasted token.
    if (!TOKEN.test(name)) throw new ConfigurationError(`${where}: the header name is not a valid HTTP token`, input);
    if (name.toLowerCase() === 'host') {
      throw new ConfigurationError(`${where}: set the Host header with the host-header input`, input);
    }
    const key = name.toLowerCase();
    if (key in headers) throw new ConfigurationError(`${where}: header "${name}" is given twice`, input);
    headers[key] = value;
  });
  return headers;
}
