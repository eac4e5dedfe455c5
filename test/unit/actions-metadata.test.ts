import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  exampleWorkflows,
  loadWorkflow,
  packActionFile,
  packWorkflows,
  rel,
  ROOT,
  type StepDoc,
} from './workflows/workflow-files.js';

interface ActionMetadata {
  name?: string;
  runs?: { using?: string; main?: string; post?: string; 'post-if'?: string };
  inputs?: Record<string, { required?: boolean; default?: unknown } | null>;
  outputs?: Record<string, unknown>;
}

const ACTIONS = ['build-and-tag', 'ecr-push', 'swarm-deploy', 'verify-health', 'notify-discord', 'record-deployment'];
/** GitHub runs JavaScript actions on this runtime; the bundles target it. */
const RUNTIME = 'node24';

function actionFiles(): string[] {
  const sub = readdirSync(join(ROOT, 'actions'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, 'actions', d.name, 'action.yml')))
    .map((d) => `actions/${d.name}/action.yml`);
  return [...(existsSync(join(ROOT, 'action.yml')) ? ['action.yml'] : []), ...sub];
}

function metadata(file: string): ActionMetadata {
  return parse(readFileSync(join(ROOT, file), 'utf8')) as ActionMetadata;
}

describe('action metadata', () => {
  it('has the root action (swarm-deploy, for the Marketplace) and the six actions', () => {
    expect(actionFiles().sort()).toEqual(['action.yml', ...ACTIONS.map((n) => `actions/${n}/action.yml`)].sort());
  });

  it(`runs every action on one node runtime (${RUNTIME})`, () => {
    const runtimes = new Map(actionFiles().map((f) => [f, metadata(f).runs?.using]));
    expect(new Set(runtimes.values())).toEqual(new Set([RUNTIME]));
  });

  describe.each(actionFiles().map((f) => [f]))('%s', (file) => {
    const meta = metadata(file);
    const bundle = (path: string | undefined) => {
      expect(path).toMatch(/^(?:\.\.\/)*dist\/[a-z-]+\/index\.js$/);
      return join(ROOT, dirname(file), path ?? '');
    };

    it('points main at a bundle in dist/ that exists', () => {
      expect(existsSync(bundle(meta.runs?.main)), meta.runs?.main).toBe(true);
    });

    it('points post (when there is one) at a bundle in dist/ that exists', () => {
      if (meta.runs?.post === undefined) return;
      expect(existsSync(bundle(meta.runs.post)), meta.runs.post).toBe(true);
    });

    it('resolves its bundle inside this repository’s dist/', () => {
      expect(bundle(meta.runs?.main).startsWith(join(ROOT, 'dist/'))).toBe(true);
    });
  });
});

/** Every step of every workflow that uses one of the pack's actions. */
function packSteps(): { where: string; step: StepDoc; action: string; siblings: StepDoc[] }[] {
  return [...packWorkflows(), ...exampleWorkflows()].flatMap((path) =>
    Object.entries(loadWorkflow(path).jobs).flatMap(([jobId, job]) =>
      (job.steps ?? []).flatMap((step) => {
        const action = step.uses === undefined ? undefined : packActionFile(step.uses);
        if (action === undefined) return [];
        return [
          {
            where: `${rel(path)} › ${jobId} › ${step.name ?? step.id ?? step.uses}`,
            step,
            action,
            siblings: job.steps ?? [],
          },
        ];
      }),
    ),
  );
}

describe('the workflows pass only inputs the actions define, and read only outputs they set', () => {
  const uses = packSteps();

  it('finds the steps that use the pack’s actions', () => {
    expect(uses.length).toBeGreaterThan(10);
  });

  it.each(uses.map((u) => [u.where, u]))('%s', (_where, { step, action, siblings }) => {
    expect(existsSync(join(ROOT, action)), `${action} exists`).toBe(true);
    const meta = metadata(action);
    const defined = Object.keys(meta.inputs ?? {});
    const passed = Object.keys(step.with ?? {});
    expect(
      passed.filter((input) => !defined.includes(input)),
      `inputs ${action} does not define`,
    ).toEqual([]);

    const missing = Object.entries(meta.inputs ?? {})
      .filter(([name, spec]) => spec?.required === true && spec.default === undefined && !passed.includes(name))
      .map(([name]) => name);
    expect(missing, `required inputs of ${action} not passed`).toEqual([]);

    // Outputs of this step read by its job: steps.<id>.outputs.<name> and steps.<id>.outputs['<name>'].
    if (step.id === undefined) return;
    const text = JSON.stringify(siblings);
    const pattern = new RegExp(`steps\\.${step.id}\\.outputs\\.([A-Za-z0-9_-]+)`, 'g');
    const read = [...new Set([...text.matchAll(pattern)].map((m) => m[1] ?? ''))];
    const outputs = Object.keys(meta.outputs ?? {});
    expect(
      read.filter((o) => !outputs.includes(o)),
      `outputs ${action} does not set`,
    ).toEqual([]);
  });
});
