/**
 * actions/checkout — the real action clones the workflow's repository at the run's commit into
 * the job's workspace (`with: path` a subfolder) and outputs `ref` and `commit`. The lab has no
 * GitHub: the stand-in copies the directory that stands for the repository at that commit (its
 * files, without .git or node_modules) and gives the same outputs.
 */
import { cpSync, mkdirSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { StandIn } from './stand-in.js';

const LEFT_OUT = new Set(['.git', 'node_modules', '.lab']);

export const checkout: StandIn = {
  uses: 'actions/checkout',
  async run({ with: inputs, workspace, repository, sha, env, log }) {
    const target = resolve(workspace, inputs.path ?? '');
    if (!target.startsWith(workspace)) {
      return { outcome: 'failure', failure: `path "${inputs.path}" is outside the workspace` };
    }
    mkdirSync(target, { recursive: true });
    cpSync(repository.root, target, {
      recursive: true,
      filter: (source) => !LEFT_OUT.has(basename(source)),
    });
    log(`Checked out ${repository.name}@${sha.slice(0, 7)} (the lab's copy of ${repository.root}) into ${target}`);
    return { outcome: 'success', outputs: { ref: env.GITHUB_REF ?? 'refs/heads/main', commit: sha } };
  },
};
