import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { action } from '../../../src/actions/swarm-deploy/main.js';
import { runActionInProcess } from '../../support/action-harness.js';
import { scratch } from '../../support/cli.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/stack/problems.yml', import.meta.url));

describe('the swarm-deploy action with a stack file full of problems', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('fails once, before any command, with every problem annotated on its line of the stack file', async () => {
    const workspace = scratch();
    dirs.push(workspace);
    copyFileSync(FIXTURE, join(workspace, 'stack.yml'));
    // A runner that refuses every command: nothing may reach the managers.
    const runner = new ScriptedRunner();
    const result = await runActionInProcess({
      action: '.',
      workspace,
      with: {
        client: 'acme',
        host: 'local',
        image: 'registry.example.com/acme/web:1',
        'stack-file': 'stack.yml',
        env: 'REPLICAS=three',
      },
      run: () => action.main({ deps: { connect: () => runner } }),
    });

    expect(result.outcome).toBe('failure');
    expect(runner.commands()).toEqual([]);
    const errors = result.annotations.filter((annotation) => annotation.level === 'error');
    // One `::error file=stack.yml,line=N::` per problem and per refused rule, in the file's order.
    const located = errors.filter((annotation) => annotation.file !== undefined);
    expect(located.map((annotation) => [annotation.file, annotation.line, annotation.title])).toStrictEqual([
      ['stack.yml', 6, 'Stack file'],
      ['stack.yml', 8, 'Stack file'],
      ['stack.yml', 10, 'Stack file'],
      ['stack.yml', 12, 'Stack file'],
      ['stack.yml', 14, 'Stack file'],
      ['stack.yml', 19, 'Stack file'],
      ['stack.yml', 22, 'Stack file'],
      ['stack.yml', 24, 'Stack file'],
      ['stack.yml', 25, 'Stack file'],
      ['stack.yml', 28, 'Stack file'],
      ['stack.yml', 17, 'Cluster policy: privileged'],
    ]);
    expect(located[0]?.message).toBe(
      'service "web" joins network "front", which the stack does not declare under "networks"',
    );
    expect(located[9]?.message).toMatch(/^secret "api_key" names a file: secrets come through the secrets input/);
    // The step fails with one message listing them all.
    const failure = errors.filter((annotation) => annotation.file === undefined).map((a) => a.message);
    expect(failure).toHaveLength(1);
    expect(failure[0]).toMatch(/stack\.yml has 10 problems:\n- stack\.yml:6: service "web" joins network "front"/);
    expect(failure[0]).toContain('stack.yml is refused by the cluster policy (1 violation):');
  });
});
