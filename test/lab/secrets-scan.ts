/**
 * The suite-wide secrets scan: no secret value a lab test used, no line of the lab's private key,
 * appears in any captured log, summary or output. A leak is reported by secret label and capture
 * file (and line number), never by printing the secret itself.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Leak {
  secret: string;
  file: string;
  line: number;
}

/** The base64 body lines of a PEM/OpenSSH private key: each is secret material on its own. */
export function privateKeyLines(pem: string): string[] {
  return pem
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length >= 16 && !l.startsWith('-----'));
}

export function scanCaptures(dir: string, secrets: Record<string, string>): Leak[] {
  if (!existsSync(dir)) return [];
  // Very short values would match by accident; every value tests register is long and random.
  const wanted = Object.entries(secrets).filter(([, value]) => value.length >= 8);
  const leaks: Leak[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
    const lines = readFileSync(join(dir, file), 'utf8').split('\n');
    for (const [label, value] of wanted) {
      const index = lines.findIndex((l) => l.includes(value));
      if (index >= 0) leaks.push({ secret: label, file, line: index + 1 });
    }
  }
  return leaks;
}

export function describeLeaks(leaks: Leak[]): string {
  return `Secrets leaked into captured logs, summaries or outputs:\n${leaks
    .map((l) => `  - ${l.secret} in captures/${l.file}, line ${l.line}`)
    .join('\n')}`;
}

/** Read the registered secrets plus the private key's lines, and scan. */
export function scanLab(capturesDir: string, privateKeyPath: string): Leak[] {
  const path = join(capturesDir, 'secrets.json');
  const registered = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>) : {};
  const key = existsSync(privateKeyPath) ? readFileSync(privateKeyPath, 'utf8') : '';
  const keyLines = Object.fromEntries(privateKeyLines(key).map((line, i) => [`lab private key line ${i + 2}`, line]));
  return scanCaptures(capturesDir, { ...registered, ...keyLines });
}
