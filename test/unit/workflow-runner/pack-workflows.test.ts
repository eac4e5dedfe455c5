import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkflowError } from '../../../lab/workflow/errors.js';
import { loadWorkflow } from '../../../lab/workflow/load.js';
import { exampleWorkflows, packWorkflows, rel, ROOT } from '../workflows/workflow-files.js';

/*
 * The local runner reads every workflow the pack ships and every example's caller as GitHub's
 * parser does (test/unit/workflows/parse.test.ts checks they parse cleanly); here: the ones the
 * demo and the lab run load without a refusal, and the rest are refused by key and line, never
 * half-read.
 */

const resolve = (uses: string) => {
  const path = /^swarm-deploy-org\/swarm-deploy\/(\.github\/workflows\/[^@]+)@/.exec(uses)?.[1];
  if (path === undefined) throw new Error(`unexpected uses: ${uses}`);
  return { path: join(ROOT, path), file: path };
};

const runnable = ['.github/workflows/deploy.yml', '.github/workflows/rollback.yml', ...exampleWorkflows().map(rel)];

describe('the local runner loads the reusable workflows and every example caller', () => {
  it.each(runnable.map((f) => [f]))('%s', async (file) => {
    const workflow = await loadWorkflow(join(ROOT, file), file, resolve);
    expect(workflow.jobs.length).toBeGreaterThan(0);
    if (file.startsWith('.github/')) {
      expect([...workflow.events.keys()]).toEqual(['workflow_call']);
      expect(workflow.callSecrets.get('SWARM_SSH_KEY')).toEqual({ required: true });
    } else {
      expect(workflow.jobs.every((j) => j.uses?.startsWith('swarm-deploy-org/swarm-deploy/.github/workflows/'))).toBe(
        true,
      );
    }
  });

  it.each([
    ['.github/workflows/ci.yml', /^\.github\/workflows\/ci\.yml:9: on: pull_request is not supported/],
    ['.github/workflows/release.yml', /^\.github\/workflows\/release\.yml:6: on: release is not supported/],
  ])('refuses %s (the pack’s own CI, on events it does not run) by key and line', async (file, message) => {
    expect(packWorkflows().map(rel)).toContain(file);
    const error = await loadWorkflow(join(ROOT, file), file, resolve).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowError);
    expect((error as Error).message).toMatch(message);
  });
});
