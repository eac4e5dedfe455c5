// Runs GitHub's workflow parser over a batch of workflows: reads [{name, content}] as JSON on
// stdin, writes [{errors, jobs}] as JSON on stdout. Started by workflow-files.ts under tsx.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import type { FileProvider } from '@actions/workflow-parser/workflows/file-provider';
import type { FileReference } from '@actions/workflow-parser/workflows/file-reference';
import { PACK_REPOSITORY } from '../../../src/cli/new-client.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Resolves `uses: <pack>/.github/workflows/<file>@<ref>` to this repository's own reusable
 * workflow, so a caller is checked against the inputs and secrets it really has to pass (the
 * parser reports an unknown input, a missing required input or secret, a wrongly typed value).
 */
const packFileProvider: FileProvider = {
  async getFileContent(ref: FileReference) {
    if (!('repository' in ref) || `${ref.owner}/${ref.repository}` !== PACK_REPOSITORY) {
      throw new Error(`not a reusable workflow of this pack: ${JSON.stringify(ref)}`);
    }
    return { name: ref.path, content: readFileSync(join(ROOT, ref.path), 'utf8') };
  },
};

async function parseOne(name: string, content: string): Promise<{ errors: string[]; jobs: string[] }> {
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const errors = result.context.errors.getErrors().map((e) => e.message);
  if (result.value === undefined) return { errors: errors.length ? errors : ['no workflow parsed'], jobs: [] };
  const template = await convertWorkflowTemplate(result.context, result.value, packFileProvider, {
    fetchReusableWorkflowDepth: 1,
  });
  return {
    errors: [...new Set([...errors, ...(template.errors ?? []).map((e) => e.Message)])],
    jobs: (template.jobs ?? []).map((j) => j.id.value),
  };
}

const files = JSON.parse(readFileSync(0, 'utf8')) as { name: string; content: string }[];
const results = [];
for (const file of files) results.push(await parseOne(file.name, file.content));
process.stdout.write(JSON.stringify(results));
