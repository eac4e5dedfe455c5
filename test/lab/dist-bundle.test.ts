import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAppImage } from '../../lab/lab.js';
import { clientName, docker, lab, privateKey, removeClient, writeStack } from './support.js';

// The committed bundle, run as the runner runs it (INPUT_* variables, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files), over real SSH to the lab's manager.
const client = clientName('dist');
afterAll(() => removeClient(client), 120_000);

function runBundle(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/swarm-deploy/index.js'], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('the committed swarm-deploy bundle', () => {
  it('deploys over SSH, writes its outputs and summary, and masks the key', async () => {
    const image = buildAppImage(lab, { version: `dist-${Date.now().toString(36)}` });
    const stack = writeStack(
      client,
      'services:\n  web:\n    image: ${IMAGE}\n    deploy:\n      update_config:\n        monitor: 2s\n',
    );
    const dir = mkdtempSync(join(tmpdir(), 'swarm-deploy-step-'));
    const outputFile = join(dir, 'output');
    const summaryFile = join(dir, 'summary');
    writeFileSync(outputFile, '');
    writeFileSync(summaryFile, '');
    const { code, out } = await runBundle({
      INPUT_HOST: lab.ssh.host,
      INPUT_PORT: String(lab.ssh.port),
      INPUT_USER: lab.ssh.user,
      'INPUT_SSH-KEY': privateKey,
      'INPUT_KNOWN-HOSTS': lab.ssh.knownHostsLine,
      INPUT_CLIENT: client,
      'INPUT_STACK-FILE': stack,
      INPUT_IMAGE: image,
      INPUT_TIMEOUT: '2m',
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_WORKSPACE: process.cwd(),
    });
    expect(out, out).not.toMatch(/ReferenceError|TypeError|Unhandled/);
    expect(code, out).toBe(0);
    const outputs = readFileSync(outputFile, 'utf8');
    expect(outputs).toMatch(/status<<.*\ndeployed\n/);
    expect(outputs).toMatch(/image<<.*\n.*@sha256:[0-9a-f]{64}\n/);
    expect(readFileSync(summaryFile, 'utf8')).toMatch(/swarm-deploy · lt-dist-.* · ✅ deployed/);
    // The key was masked before anything was logged, and never printed.
    expect(out).toMatch(/::add-mask::/);
    const keyLine = privateKey.split('\n')[1] ?? 'unset';
    expect(out.replace(/::add-mask::.*\n/g, '')).not.toContain(keyLine);
    expect(
      await docker('service', 'inspect', '--format', '{{index .Spec.Labels "swarm-deploy.client"}}', `${client}_web`),
    ).toBe(client);
  });
});
