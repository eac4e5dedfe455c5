import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { clientFiles, resolveClientSpec, type ClientSpecInput } from '../../../src/cli/new-client.js';
import { exampleWorkflows, packWorkflows, parseWithGitHub, rel, type ParsedWorkflow } from './workflow-files.js';

const specs: [string, ClientSpecInput][] = [
  ['node, standard, one domain', { name: 'client-c', domains: ['c.example.com'] }],
  [
    'python, enterprise, two domains, two managers',
    {
      name: 'client-d',
      domains: ['d.example.com', 'www.d.example.com'],
      runtime: 'python',
      tier: 'enterprise',
      managerHosts: ['10.0.0.10', 'manager-2.example.com'],
      awsRegion: 'eu-central-1',
      servicePort: '8000',
      service: 'web',
    },
  ],
];

// Files on disk, then what new-client writes for each spec, keyed by a readable name.
const onDisk = [...packWorkflows(), ...exampleWorkflows()].map((path) => ({
  name: rel(path),
  content: readFileSync(path, 'utf8'),
}));
const generated = specs.flatMap(([label, input]) =>
  clientFiles(resolveClientSpec(input))
    .filter((f) => f.path.startsWith('.github/workflows/'))
    .map((f) => ({ name: `new-client (${label}): ${f.path}`, content: f.content })),
);

// Callers of the reusable deploy workflow, each with one mistake the parser must report.
const required = '      client: a\n      domain: a.example.com\n      aws-region: eu-west-1\n      manager-host: m';
const allSecrets = ['AWS_ROLE_ARN', 'SWARM_SSH_KEY', 'SWARM_KNOWN_HOSTS', 'DISCORD_WEBHOOK']
  .map((s) => `      ${s}: \${{ secrets.${s} }}`)
  .join('\n');
const caller = (withLines: string, secrets: string) => `on: push
jobs:
  deploy:
    uses: swarm-deploy-org/swarm-deploy/.github/workflows/deploy.yml@v1
    with:
${withLines}
    secrets:
${secrets}
`;
const deployYml = onDisk.find((f) => f.name === '.github/workflows/deploy.yml')?.content ?? '';
const mistakes: [string, string, RegExp][] = [
  ['a missing required input', caller(required.replace('      client: a\n', ''), allSecrets), /client/],
  ['an input the workflow does not define', caller(`${required}\n      colour: blue`, allSecrets), /colour/],
  ['a secret the workflow does not define', caller(required, `${allSecrets}\n      NPM_TOKEN: x`), /NPM_TOKEN/],
  [
    'a missing required secret',
    caller(required, allSecrets.replace(/.*DISCORD_WEBHOOK.*/, '      APP_SECRETS: x')),
    /DISCORD_WEBHOOK/,
  ],
  [
    'an unknown context in an expression',
    deployYml.replace('${{ steps.target.outputs.url }}', '${{ target.outputs.url }}'),
    /Unrecognized named-value: 'target'/,
  ],
];
const control = { name: 'control', content: caller(required, allSecrets) };
// A caller whose managers sit in a private subnet: a self-hosted runner by labels, or a bastion with its own key.
const privateManagers = {
  name: 'private managers',
  content: caller(
    `${required}\n      runs-on: '["self-hosted", "linux", "vpc-eu-west-1"]'\n      jump-host: ops@bastion.example.com:2222`,
    `${allSecrets}\n      SWARM_JUMP_SSH_KEY: \${{ secrets.SWARM_JUMP_SSH_KEY }}`,
  ),
};

const results = new Map<string, ParsedWorkflow>();
beforeAll(() => {
  const batch = [
    ...onDisk,
    ...generated,
    control,
    privateManagers,
    ...mistakes.map(([label, content]) => ({ name: `mistake: ${label}`, content })),
  ];
  parseWithGitHub(batch).forEach((result, i) => results.set(batch[i]?.name ?? '', result));
}, 120_000);

function parsed(name: string): ParsedWorkflow {
  const result = results.get(name);
  if (result === undefined) throw new Error(`${name} was not parsed`);
  return result;
}

describe("every workflow passes GitHub's own workflow parser", () => {
  it('covers the pack’s workflows and both examples’ workflows', () => {
    expect(onDisk.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        '.github/workflows/deploy.yml',
        '.github/workflows/rollback.yml',
        '.github/workflows/ci.yml',
        '.github/workflows/release.yml',
        'examples/client-a/.github/workflows/deploy.yml',
        'examples/client-a/.github/workflows/rollback.yml',
        'examples/client-b/.github/workflows/deploy.yml',
        'examples/client-b/.github/workflows/rollback.yml',
      ]),
    );
    expect(generated).toHaveLength(4);
  });

  it.each([...onDisk, ...generated].map((f) => [f.name]))('%s', (name) => {
    const { errors, jobs } = parsed(name);
    expect(errors).toEqual([]);
    expect(jobs.length).toBeGreaterThan(0);
  });
});

describe('the parser check catches mistakes (so a clean result means something)', () => {
  it('accepts a caller that passes what the reusable deploy requires', () => {
    expect(parsed('control')).toEqual({ errors: [], jobs: ['deploy'] });
  });

  it('accepts a caller for private managers: runs-on labels as JSON, a jump host and its own key', () => {
    expect(parsed('private managers')).toEqual({ errors: [], jobs: ['deploy'] });
  });

  it.each(mistakes)('reports %s', (label, _content, pattern) => {
    const { errors } = parsed(`mistake: ${label}`);
    expect(errors.join('\n')).toMatch(pattern);
  });
});
