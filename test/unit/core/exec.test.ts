import { describe, expect, it, test } from 'vitest';
import { CommandError } from '../../../src/core/errors.js';
import { describeCommand, LocalRunner, streamCommand } from '../../../src/core/exec.js';

describe('describeCommand', () => {
  it('describes a command by its program and sub-commands only, never its values', () => {
    expect(describeCommand(['docker', 'secret', 'create', '--label', 'x=1', 'name', '-'])).toBe('docker secret create');
    expect(describeCommand(['docker', 'login', '--password-stdin'])).toBe('docker login');
  });
});

describe('LocalRunner', () => {
  const node = process.execPath;

  it('passes stdin to the command and returns its output', async () => {
    const runner = new LocalRunner();
    const script = 'process.stdin.pipe(process.stdout); process.stderr.write("note")';
    const result = await runner.run([node, '-e', script], { stdin: 'from stdin' });
    expect(result).toEqual({ code: 0, stdout: 'from stdin', stderr: 'note' });
  });

  it('throws CommandError on a non-zero exit, unless failure is allowed', async () => {
    const runner = new LocalRunner();
    const failing = [node, '-e', 'console.error("broken"); process.exit(4)'];
    await expect(runner.run(failing)).rejects.toBeInstanceOf(CommandError);
    await expect(runner.run(failing, { allowFailure: true })).resolves.toMatchObject({ code: 4, stderr: 'broken\n' });
  });

  it('rejects when the program does not exist', async () => {
    await expect(new LocalRunner().run(['/nonexistent/program'])).rejects.toThrow(/ENOENT/);
  });

  it('streams stdout lines until stopped', async () => {
    const runner = new LocalRunner();
    const lines: string[] = [];
    const handle = runner.stream([node, '-e', 'console.log("first"); setInterval(() => {}, 1000)'], (line) => {
      lines.push(line);
      handle.stop();
    });
    const result = await handle.done;
    expect(lines).toEqual(['first']);
    expect(result.code).not.toBe(0);
  });

  it('a stream whose program cannot start ends with the reason instead of throwing', async () => {
    const result = await new LocalRunner().stream(['/nonexistent/program'], () => undefined).done;
    expect(result.code).toBeNull();
    expect(result.stderr).toMatch(/ENOENT/);
  });
});

describe('streamCommand', () => {
  test('hands over stdout and stderr lines as they come and keeps stdout', async () => {
    const lines: string[] = [];
    const script = 'process.stdout.write("one\\ntw"); process.stderr.write("err\\n"); process.stdout.write("o\\n");';
    const result = await streamCommand([process.execPath, '-e', script], { onLine: (l) => lines.push(l) });
    expect(lines).toEqual(expect.arrayContaining(['one', 'two', 'err']));
    expect(result.stdout).toBe('one\ntwo\n');
  });

  test('passes extra environment', async () => {
    const lines: string[] = [];
    await streamCommand([process.execPath, '-e', 'console.log(process.env.DOCKER_BUILDKIT)'], {
      env: { DOCKER_BUILDKIT: '0' },
      onLine: (l) => lines.push(l),
    });
    expect(lines).toEqual(['0']);
  });

  test('a failing command throws with its exit code and the output tail', async () => {
    const run = streamCommand([process.execPath, '-e', 'console.error("step 3 failed"); process.exit(3)'], {
      onLine: () => undefined,
    });
    await expect(run).rejects.toThrow(/exited with code 3: step 3 failed/);
  });
});
