/**
 * A `run:` step as ubuntu-latest runs it: the script in a file, `bash --noprofile --norc -eo
 * pipefail {0}`, the runner's environment and step files, its output read for workflow commands
 * and masked — by the same harness code that runs the actions' steps.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  collectStepFiles,
  createStepFiles,
  LineSplitter,
  removeStepFiles,
  stepEnvironment,
  StepOutput,
  type CollectedFiles,
  type GithubContext,
  type StepAnnotation,
} from '../runner/action-host.js';

export interface ScriptOptions {
  script: string;
  cwd: string;
  workspace: string;
  env: Record<string, string>;
  github: GithubContext;
  /** Values masked from the start. */
  secrets: readonly string[];
  onLine?: (line: string) => void;
}

export interface ScriptResult extends CollectedFiles {
  outcome: 'success' | 'failure';
  exitCode: number | null;
  log: string[];
  annotations: StepAnnotation[];
  masks: string[];
}

export async function runScript(options: ScriptOptions): Promise<ScriptResult> {
  const output = new StepOutput({ secrets: options.secrets, ...(options.onLine ? { onLine: options.onLine } : {}) });
  const files = await createStepFiles(options.github.event);
  try {
    const scriptFile = join(files.temp, `${randomUUID()}.sh`);
    await writeFile(scriptFile, options.script);
    const env = stepEnvironment({
      metadata: undefined,
      inputs: {},
      files,
      workspace: options.workspace,
      github: options.github,
      env: options.env,
      debug: options.env.ACTIONS_STEP_DEBUG === 'true',
    });
    const exitCode = await new Promise<number | null>((resolve) => {
      const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', scriptFile], {
        cwd: options.cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const stdout = new LineSplitter((line) => output.line(line));
      const stderr = new LineSplitter((line) => output.line(line));
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
      child.on('error', (error) => {
        output.runnerAnnotation('error', error.message);
        resolve(null);
      });
      child.on('close', (code) => {
        stdout.end();
        stderr.end();
        resolve(code);
      });
    });
    if (exitCode !== 0) output.runnerAnnotation('error', `Process completed with exit code ${exitCode}.`);
    const collected = await collectStepFiles(files, output);
    const success = exitCode === 0 && !output.commandFailed && !collected.failed;
    return {
      ...collected,
      outcome: success ? 'success' : 'failure',
      exitCode,
      log: output.log,
      annotations: output.annotations,
      masks: output.masks,
    };
  } finally {
    await removeStepFiles(files);
  }
}
