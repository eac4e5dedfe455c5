import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderCliDoc } from '../../scripts/cli-docs.js';
// @ts-expect-error a plain .mjs script without types
import { render, renderRootAction } from '../../scripts/generate-docs.mjs';

describe('generated documentation', () => {
  it("docs/cli.md's reference is what the commands' usage says (run npm run build)", () => {
    expect(readFileSync('docs/cli.md', 'utf8')).toBe(renderCliDoc());
  });

  it('docs/actions.md is what the action.yml files say (run node scripts/generate-docs.mjs)', () => {
    expect(readFileSync('docs/actions.md', 'utf8')).toBe((render as () => string)());
  });

  it('the root action.yml is generated from actions/swarm-deploy/action.yml (run npm run build)', () => {
    expect(readFileSync('action.yml', 'utf8')).toBe((renderRootAction as () => string)());
    const root = parse(readFileSync('action.yml', 'utf8')) as {
      inputs: object;
      outputs: object;
      branding: object;
      runs: { main: string; post: string };
    };
    const sub = parse(readFileSync('actions/swarm-deploy/action.yml', 'utf8')) as typeof root;
    expect(root.inputs).toEqual(sub.inputs);
    expect(root.outputs).toEqual(sub.outputs);
    expect(root.branding).toEqual({ icon: 'upload-cloud', color: 'blue' });
    expect(root.runs.main).toBe('dist/swarm-deploy/index.js');
    expect(root.runs.post).toBe('dist/swarm-deploy-post/index.js');
  });
});
