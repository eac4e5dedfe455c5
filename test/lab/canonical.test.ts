import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderStack } from '../../src/compose/stack.js';
import { Tenant } from '../../src/core/tenant.js';
import { local } from './support.js';
import { TRICKY_YAML_VALUES } from '../support/yaml-values.js';

/*
 * What the gate judged is what Docker reads: for accepted stacks full of values a YAML 1.1 reader
 * could take otherwise, the rendered text is read by the docker CLI's own loader
 * (`docker stack config`, no swarm change) and compared with the judged document.
 */

// U+2028 and U+2029 are left out here: the docker CLI writes them raw in its own output, which then
// cannot be read back unambiguously for the comparison. The unit tests read the text sent to Docker
// with them back through YAML 1.1 and 1.2 readers.
const TRICKY = TRICKY_YAML_VALUES.filter((value) => !/[\u2028\u2029]/u.test(value));

const environment = Object.fromEntries(TRICKY.map((value, i) => [`V${i}`, value]));

const STACKS: [string, string][] = [
  [
    'values a YAML 1.1 reader could take otherwise',
    [
      'services:',
      '  web:',
      '    image: ${IMAGE}',
      `    environment: ${JSON.stringify(environment)}`,
      `    command: ${JSON.stringify(TRICKY.filter((value) => value !== ''))}`,
      '    deploy:',
      '      replicas: 2',
      '      labels:',
      '        "a b": "yes"',
      '        "x:y": "0755"',
      '        com.example.time: "2001-12-14"',
      '  worker:',
      '    image: ${IMAGE}',
      '    deploy:',
      '      labels: ["a b=yes", "x:y=0755", "com.example/z=1:20", "k=", "Yes_Please=~"]',
      '',
    ].join('\n'),
  ],
  [
    'anchors, aliases and a plain << merge, expanded before judging',
    [
      'x-env: &env',
      '  LOG_LEVEL: "on"',
      '  MODE: "0644"',
      'x-deploy: &deploy',
      '  replicas: 1',
      '  labels: { com.example.team: "n" }',
      'services:',
      '  web:',
      '    image: ${IMAGE}',
      '    environment:',
      '      <<: *env',
      '      EXTRA: "1:30"',
      '    deploy: *deploy',
      '  worker:',
      '    image: ${IMAGE}',
      '    environment: *env',
      '    deploy:',
      '      <<: *deploy',
      '      replicas: 3',
      '',
    ].join('\n'),
  ],
];

type Service = Record<string, unknown> & { deploy?: Record<string, unknown> };

/** What the docker CLI's loader makes of the text: `docker stack config -c -` on this machine. */
async function dockerReads(yaml: string): Promise<Record<string, Service>> {
  const result = await local.run(['docker', 'stack', 'config', '--compose-file', '-'], { stdin: yaml });
  // The docker CLI quotes on output every string its own reader would take for another type.
  const read = parse(result.stdout) as { services: Record<string, Service> };
  return read.services;
}

describe('docker stack config reads the rendered text as the gate judged it', () => {
  it.each(STACKS)('%s', async (_what, text) => {
    const rendered = renderStack({
      tenant: Tenant.parse('lt-canon'),
      file: 'stack.yml',
      text,
      image: 'registry.example.com/lt-canon/web:1',
      env: new Map(),
      release: { id: '20261201-000000-abc', time: '2026-12-01T00:00:00Z' },
      policy: { mode: 'enforce', allowPublishedPorts: false, domains: [] },
    });
    const judged = rendered.document.services as Record<string, Service>;
    const read = await dockerReads(rendered.yaml);
    expect(Object.keys(read).sort()).toStrictEqual(Object.keys(judged).sort());
    for (const [name, service] of Object.entries(judged)) {
      const seen = read[name] as Service;
      expect(seen.image).toBe(service.image);
      expect(seen.environment ?? {}).toStrictEqual(service.environment ?? {});
      expect(seen.command).toStrictEqual(service.command);
      expect(seen.deploy?.replicas).toBe(service.deploy?.replicas);
      expect(seen.deploy?.labels).toStrictEqual(service.deploy?.labels);
    }
  });
});
