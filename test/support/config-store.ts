import { ScriptedRunner } from './scripted-runner.js';

export interface StoredConfig {
  name: string;
  data: string;
  labels: Record<string, string>;
  /** As `docker config inspect` prints it: RFC 3339 with nanoseconds, trailing zeros dropped. */
  createdAt: string;
}

/**
 * The swarm's config store as `docker config ls/inspect/create/rm` show it: labels filtered with
 * `--filter label=k=v` (all of them must match), a create of an existing name refused with
 * AlreadyExists, an inspect or rm of a missing name failing as the daemon answers. Each new config
 * is created one tick (`tickMs`) after the previous one, by the managers' clock.
 */
export class ConfigStore {
  readonly configs = new Map<string, StoredConfig>();
  readonly runner = new ScriptedRunner();
  private clock = Date.parse('2026-12-01T10:00:00.000Z');
  /**
   * Runs just before a `config create` is served (a first attempt that landed, another writer); a
   * result it returns is the create's answer.
   */
  beforeCreate: ((name: string, data: string) => { code: number; stderr: string } | undefined) | undefined;

  constructor(readonly tickMs = 1500) {
    this.runner
      .on(['docker', 'config', 'ls'], (argv) => {
        const filters = argv
          .filter((_w, i) => argv[i - 1] === '--filter')
          .map((f) => f.replace(/^label=/, '').split('='));
        const names = [...this.configs.values()]
          .filter((c) => filters.every(([k = '', v]) => (v === undefined ? k in c.labels : c.labels[k] === v)))
          .map((c) => c.name);
        return { stdout: names.map((n) => `${n}\n`).join('') };
      })
      .on(['docker', 'config', 'inspect'], (argv) => {
        const names = argv.slice(argv.indexOf('inspect') + 1);
        const missing = names.find((n) => !this.configs.has(n));
        if (missing !== undefined) return { code: 1, stderr: `Error response from daemon: no such config: ${missing}` };
        const found = names.map((n) => this.configs.get(n) as StoredConfig);
        return {
          stdout: JSON.stringify(
            found.map((c) => ({
              ID: `id-${c.name}`,
              CreatedAt: c.createdAt,
              Spec: { Name: c.name, Labels: c.labels, Data: Buffer.from(c.data).toString('base64') },
            })),
          ),
        };
      })
      .on(['docker', 'config', 'create'], (argv, options) => {
        const name = argv[argv.length - 2] as string;
        const answer = this.beforeCreate?.(name, options.stdin ?? '');
        if (answer !== undefined) return answer;
        if (this.configs.has(name)) {
          return {
            code: 1,
            stderr: `Error response from daemon: rpc error: code = AlreadyExists desc = config ${name} already exists`,
          };
        }
        const labels = Object.fromEntries(
          argv
            .filter((_w, i) => argv[i - 1] === '--label')
            .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        );
        this.put(name, options.stdin ?? '', labels);
        return { stdout: `id-${name}\n` };
      })
      .on(['docker', 'config', 'rm'], (argv) => {
        const names = argv.slice(argv.indexOf('rm') + 1);
        const missing = names.filter((n) => !this.configs.has(n));
        for (const n of names) this.configs.delete(n);
        if (missing.length > 0)
          return { code: 1, stderr: `Error response from daemon: config ${missing[0]} not found` };
        return { stdout: names.map((n) => `${n}\n`).join('') };
      });
  }

  /** Stores a config as if created now; the managers' clock moves on by one tick. */
  put(name: string, data: string, labels: Record<string, string>): StoredConfig {
    this.clock += this.tickMs;
    // Docker prints nanoseconds without trailing zeros: `…:01.5Z`, `…:03Z`.
    const createdAt = new Date(this.clock).toISOString().replace(/\.?0+Z$/, 'Z');
    const config = { name, data, labels, createdAt };
    this.configs.set(name, config);
    return config;
  }

  names(): string[] {
    return [...this.configs.keys()].sort();
  }
}
