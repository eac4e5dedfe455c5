import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PolicySettings } from '../../src/compose/policy.js';

/** The `.yml` files of a fixture folder, sorted. */
export function ymlFiles(dir: string | URL): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yml'))
    .sort();
}

/** The real-world corpus: a folder per accepted stack (its stack.yml and the files beside it), refused ones in `refused/`. */
export const realWorld = (() => {
  const root = fileURLToPath(new URL('../fixtures/real-world/', import.meta.url));
  const refusedDir = join(root, 'refused');
  const accepted = readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'refused')
    .map((entry) => entry.name)
    .sort();
  return { root, refusedDir, accepted, refused: ymlFiles(refusedDir) };
})();

/** The enforcing policy the gate's fixture tests judge tenant `acme` by: its domain routed to `web` on 8080. */
export function acmePolicy(override: Partial<PolicySettings> = {}): PolicySettings {
  return {
    mode: 'enforce',
    allowPublishedPorts: false,
    domains: ['acme.example.com'],
    port: 8080,
    routedService: 'web',
    tier: 'standard',
    defaultCpus: '0.5',
    defaultMemory: '256M',
    ...override,
  };
}

/** `# expect: <rule>[, <rule>...]` comments mark the lines a fixture must be refused on, by which rules. */
export function expectations(text: string): { rule: string; line: number }[] {
  return text.split('\n').flatMap((line, index) => {
    const match = /# expect: ([a-z, -]+)/.exec(line);
    return (match?.[1] ?? '')
      .split(',')
      .map((rule) => rule.trim())
      .filter(Boolean)
      .map((rule) => ({ rule, line: index + 1 }));
  });
}
