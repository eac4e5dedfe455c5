import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
// @ts-expect-error a plain .mjs script without types
import { render } from '../../scripts/generate-docs.mjs';

describe('generated documentation', () => {
  it('docs/actions.md is what the action.yml files say (run node scripts/generate-docs.mjs)', () => {
    expect(readFileSync('docs/actions.md', 'utf8')).toBe((render as () => string)());
  });

  it('the root action.yml is the swarm-deploy action: same inputs and outputs as actions/swarm-deploy', () => {
    const root = parse(readFileSync('action.yml', 'utf8')) as {
      inputs: object;
      outputs: object;
      runs: { main: string; post: string };
    };
    const sub = parse(readFileSync('actions/swarm-deploy/action.yml', 'utf8')) as typeof root;
    expect(root.inputs).toEqual(sub.inputs);
    expect(root.outputs).toEqual(sub.outputs);
    expect(root.runs.main).toBe(sub.runs.main.replace('../../', ''));
    expect(root.runs.post).toBe(sub.runs.post.replace('../../', ''));
  });
});
