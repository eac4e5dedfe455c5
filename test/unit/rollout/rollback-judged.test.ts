import { describe, expect, test } from 'vitest';
import { readDeploySettings } from '../../../src/rollout/settings.js';
import { Inputs, mapInputs } from '../../../src/core/inputs.js';
import { MemoryLog } from '../../support/memory-log.js';
import { runDeploy } from '../../../src/rollout/deploy.js';
import type { RolloutRequest } from '../../../src/rollout/request.js';
import { PolicyError, judgeRecordedStack } from '../../../src/compose/stack.js';
import type { PolicySettings } from '../../../src/compose/policy.js';
import { Tenant } from '../../../src/core/tenant.js';
import { configInspect, release, scratch, writeFile } from '../../support/cli.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';
import { service } from '../../support/swarm-fixtures.js';

const ID = '20261123-034512-a1b';
const DIGEST = `reg.example.com/shop/app:v1@sha256:${'a'.repeat(64)}`;

function rollbackRequest(extra: Record<string, string> = {}): RolloutRequest {
  const dir = scratch();
  writeFile(dir, 'stack.yml', 'services:\n  web:\n    image: ${IMAGE}\n');
  const inputs = new Inputs(
    mapInputs({ host: 'local', client: 'shop', 'stack-file': 'stack.yml', 'rollback-to': ID, ...extra }),
    () => undefined,
  );
  return readDeploySettings(inputs, { GITHUB_WORKSPACE: dir }).request;
}

/** A swarm whose history holds one release with `stack`, and where every change would be seen. */
function swarm(stack: string): ScriptedRunner {
  const recorded = release('shop', ID, { stack, images: { shop_web: DIGEST }, replicas: { shop_web: 1 } });
  return new ScriptedRunner()
    .on(['docker', 'config', 'inspect', 'sdl.shop'], () => ({ code: 1, stderr: 'Error: no such config: sdl.shop' }))
    .on(['docker', 'config', 'ls'], () => ({ stdout: `sdr.shop.${ID}\n` }))
    .on(['docker', 'config', 'inspect'], () => ({
      stdout: configInspect([{ name: `sdr.shop.${ID}`, data: recorded }]),
    }))
    .on(['docker', 'service', 'ls'], () => ({ stdout: 'shop_web\n' }))
    .on(['docker', 'service', 'inspect'], () => ({
      stdout: JSON.stringify([service('shop_web', { replicas: 1, image: DIGEST })]),
    }));
}

const MUTATING = / (create|rm|deploy|update|scale|network create) /;

/** Recorded stacks that today's gate refuses (written as an earlier renderer wrote them: keys plain). */
const REFUSED: [string, string, RegExp][] = [
  [
    'a merge key written out plain from a quoted "<<"',
    'services:\n  web:\n    image: "x"\n    <<:\n      privileged: true\n',
    /\[privileged\]/,
  ],
  [
    'a key holding a line separator, written unquoted',
    'services:\n  web:\n    image: "x"\n    environment:\n      A\u2028volumes: "x"\n',
    /\[plain-key\].*U\+2028/,
  ],
  ['a quoted merge key', 'services:\n  web:\n    image: "x"\n    "<<": { privileged: true }\n', /\[plain-key\]/],
  [
    'the Docker socket',
    'services:\n  web:\n    image: "x"\n    volumes:\n      - "/var/run/docker.sock:/var/run/docker.sock"\n',
    /\[bind-mount\]/,
  ],
  [
    'another client’s secret',
    'services:\n  web:\n    image: "x"\nsecrets:\n  s:\n    external: true\n    name: "blog_db"\n',
    /\[foreign-secret\]/,
  ],
  ['a published port', 'services:\n  web:\n    image: "x"\n    ports:\n      - "80:80"\n', /\[published-ports\]/],
];

describe("a rollback judges the recorded stack again under today's policy", () => {
  test.each(REFUSED)('%s is refused before anything changes on the swarm', async (_what, stack, rule) => {
    const runner = swarm(stack);
    const attempt = runDeploy({ runner, log: new MemoryLog() }, rollbackRequest());
    await expect(attempt).rejects.toThrow(PolicyError);
    await expect(attempt).rejects.toThrow(rule);
    await expect(attempt).rejects.toThrow(`release ${ID}`);
    expect(runner.commands().length).toBeGreaterThan(0);
    for (const command of runner.commands()) expect(` ${command} `).not.toMatch(MUTATING);
  });

  test('a dry run (plan) of the rollback is refused too', async () => {
    const runner = swarm(REFUSED[0]?.[1] as string);
    await expect(runDeploy({ runner, log: new MemoryLog() }, rollbackRequest({ 'dry-run': 'true' }))).rejects.toThrow(
      PolicyError,
    );
    for (const command of runner.commands()) expect(` ${command} `).not.toMatch(MUTATING);
  });

  const policy = (override: Partial<PolicySettings> = {}): PolicySettings => ({
    mode: 'enforce',
    allowPublishedPorts: false,
    domains: [],
    ...override,
  });
  const judge = (text: string, settings: PolicySettings) =>
    judgeRecordedStack({ tenant: Tenant.parse('shop'), file: `release ${ID}`, text, policy: settings });

  test('today’s policy decides: a port published when it was allowed is refused once it is not', () => {
    const stack = REFUSED[5]?.[1] as string;
    expect(judge(stack, policy({ allowPublishedPorts: true }))).toStrictEqual([]);
    expect(() => judge(stack, policy())).toThrow(/published-ports/);
  });

  test('the deploy’s own swarm-deploy.* labels and doubled $ are read as the deploy wrote them', () => {
    const stack = [
      'services:',
      '  web:',
      '    image: "x"',
      '    environment:',
      '      PRICE: "$$5"',
      '    deploy:',
      '      labels:',
      '        swarm-deploy.client: "shop"',
      '        swarm-deploy.fingerprint: "0123"',
      '',
    ].join('\n');
    expect(judge(stack, policy())).toStrictEqual([]);
    expect(() => judge(stack.replace('$$5', '$HOME'), policy())).toThrow(/HOME/);
  });
});
