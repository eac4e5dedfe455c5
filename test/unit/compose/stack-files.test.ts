import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { ConfigurationError } from '../../../src/core/errors.js';
import type { PolicySettings } from '../../../src/compose/policy.js';
import { StackError, judgeRecordedStack, renderStack } from '../../../src/compose/stack.js';
import type { RenderOptions } from '../../../src/compose/stack.js';
import { mergeEnvironment, parseEnvFile } from '../../../src/compose/stack-files.js';
import type { StackFileReader } from '../../../src/compose/stack-files.js';
import { Tenant } from '../../../src/core/tenant.js';

const policy: PolicySettings = { mode: 'enforce', allowPublishedPorts: false, domains: [] };

/** An in-memory repository: paths as the stack writes them. */
function reader(files: Record<string, string>): StackFileReader {
  return (path) => {
    if (path.startsWith('/')) throw new ConfigurationError(`"${path}" must be a file inside the repository`, 'x');
    const text = files[path];
    return text === undefined ? undefined : new TextEncoder().encode(text);
  };
}

function render(text: string, override: Partial<RenderOptions> = {}) {
  return renderStack({
    tenant: Tenant.parse('acme'),
    file: 'stack.yml',
    text,
    env: new Map([['ENV_FILE', 'prod.env']]),
    release: { id: '20250101-abc', time: '2025-01-01T00:00:00Z' },
    policy,
    ...override,
  });
}

function refusal(action: () => unknown): StackError {
  try {
    action();
  } catch (error: unknown) {
    expect(error).toBeInstanceOf(StackError);
    return error as StackError;
  }
  throw new Error('the stack was not refused');
}

describe('parseEnvFile reads as docker/cli does', () => {
  test('comments and blank lines skipped, values literal, CRLF and a BOM tolerated', () => {
    const text = '\uFEFF# head\r\n\r\n  \t# indented\r\nA=1\r\n  B = 2\r\nC=\r\nD="x y" # not a comment\r\nE=a=b\r\n';
    expect(parseEnvFile(text)).toStrictEqual({
      values: [
        ['A', '1'],
        ['C', ''],
        ['D', '"x y" # not a comment'],
        ['E', 'a=b'],
      ],
      problems: [`line 5: "B " is not a variable name (letters, digits, '_', '.', '-')`],
    });
  });

  test('a line without "=" is refused with its line, never taken from an environment', () => {
    expect(parseEnvFile('A=1\nHOME\n=x\n').problems).toStrictEqual([
      'line 2: "HOME" has no "=": a variable without a value would be read from the environment of the machine that deploys; write HOME=value',
      `line 3: "" is not a variable name (letters, digits, '_', '.', '-')`,
    ]);
  });
});

test('mergeEnvironment: the environment wins and keeps its form', () => {
  const files = new Map([
    ['A', '1'],
    ['B', '2'],
  ]);
  expect(mergeEnvironment(undefined, files)).toStrictEqual({ A: '1', B: '2' });
  expect(mergeEnvironment({ B: 'own', C: null }, files)).toStrictEqual({ A: '1', B: 'own', C: null });
  expect(mergeEnvironment(['B=own', 'C'], files)).toStrictEqual(['A=1', 'B=own', 'C']);
});

describe('renderStack with the files a stack names', () => {
  test('a path from a variable is read, and no env_file reaches the rendered stack', () => {
    const rendered = render(
      'services:\n  web:\n    image: x\n    env_file: ./${ENV_FILE}\n    environment: {B: own}\n',
      { files: { read: reader({ './prod.env': 'A=1\nB=2\n' }), configName: () => 'unused' } },
    );
    const web = (parse(rendered.yaml) as { services: { web: Record<string, unknown> } }).services.web;
    expect(web.environment).toStrictEqual({ A: '1', B: 'own' });
    expect(web).not.toHaveProperty('env_file');
    expect(rendered.configFiles).toStrictEqual([]);
  });

  test('env file values keep their $ as written: Docker reads them literally', () => {
    const rendered = render('services:\n  web:\n    image: x\n    env_file: a.env\n', {
      files: { read: reader({ 'a.env': 'P=$HOME ${X}\n' }), configName: () => 'unused' },
    });
    expect(rendered.yaml).toContain('P: "$$HOME $${X}"');
  });

  test('config files are named by the given function and returned with their content', () => {
    const rendered = render(
      'services:\n  web:\n    image: x\n    configs: [app]\nconfigs:\n  app:\n    file: app.conf\n',
      {
        files: {
          read: reader({ 'app.conf': 'k = v\n' }),
          configName: (key, content) => `acme_${key}_${content.length}`,
        },
      },
    );
    expect(rendered.configFiles).toStrictEqual([{ name: 'app', content: 'k = v\n', versioned: 'acme_app_6' }]);
    expect(rendered.document.configs).toStrictEqual({ app: { external: true, name: 'acme_app_6' } });
    expect(rendered.services[0]?.configs).toStrictEqual(['acme_app_6']);
  });

  test('without a repository to read from, every file named is a problem at its line', () => {
    const error = refusal(() =>
      render('services:\n  web:\n    image: x\n    env_file: a.env\nconfigs:\n  app:\n    file: app.conf\n'),
    );
    expect(error.problems.map((problem) => [problem.where.line, problem.reason])).toStrictEqual([
      [4, 'service "web": env_file "a.env" cannot be read: this deploy has no repository to read it from'],
      [7, 'config "app": file "app.conf" cannot be read: this deploy has no repository to read it from'],
    ]);
  });

  test('a config both external and from a file is refused', () => {
    const error = refusal(() =>
      render('services:\n  web:\n    image: x\nconfigs:\n  app:\n    external: true\n    file: app.conf\n', {
        files: { read: reader({ 'app.conf': 'k = v\n' }), configName: () => 'acme_app_1' },
      }),
    );
    expect(error.problems.map((problem) => [problem.where.line, problem.reason])).toStrictEqual([
      [7, 'config "app" is both external and read from a file: keep one'],
    ]);
  });

  test('env_file of the wrong shape is a problem', () => {
    const error = refusal(() =>
      render('services:\n  web:\n    image: x\n    env_file: [{path: a.env, required: maybe}, 3]\n', {
        files: { read: reader({ 'a.env': 'A=1\n' }), configName: () => 'unused' },
      }),
    );
    expect(error.problems.map((problem) => problem.reason)).toStrictEqual([
      'env_file "required" must be true or false',
      'an env_file entry must be a path or a mapping with a "path"',
    ]);
  });
});

test('a recorded stack that still names a file is refused: deployed again, the manager would read it', () => {
  const text = [
    'services:',
    '  web:',
    '    image: "x"',
    '    env_file: "/etc/os-release"',
    'configs:',
    '  app:',
    '    file: "./app.conf"',
  ].join('\n');
  const error = refusal(() => judgeRecordedStack({ tenant: Tenant.parse('acme'), file: 'release r1', text, policy }));
  expect(error.problems.map((problem) => [problem.where.line, problem.reason])).toStrictEqual([
    [
      4,
      'service "web" has an env_file: deployed again it would be read on the manager; deploy the stack from the repository instead',
    ],
    [
      7,
      'config "app" names a file: deployed again it would be read on the manager; deploy the stack from the repository instead',
    ],
  ]);
});
