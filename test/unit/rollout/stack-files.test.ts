import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { StackError } from '../../../src/compose/stack.js';
import { Inputs, mapInputs } from '../../../src/core/inputs.js';
import { prepareStack, type Prepared } from '../../../src/rollout/deploy.js';
import { readDeploySettings } from '../../../src/rollout/settings.js';

// A real workspace: the stack files live in deploy/, beside their env and config files.
const root = mkdtempSync(join(tmpdir(), 'sd-stack-files-'));
const workspace = join(root, 'repo');
const outside = join(root, 'outside');
mkdirSync(join(workspace, 'deploy'), { recursive: true });
mkdirSync(outside);
const files: Record<string, string | Buffer> = {
  'deploy/app.env':
    '# the app\n\nA=1\nB=from-app\n   # indented comment\nURL=postgres://db/x?a=b#frag\nQ="quoted" $HOME\n',
  'deploy/extra.env': 'B=from-extra\nC=3\n',
  'deploy/bad.env': 'OK=1\nNOVALUE\n2BAD=x\n',
  'deploy/latin1.env': Buffer.from([0x41, 0x3d, 0xff, 0x0a]),
  'deploy/nginx.conf': 'server { listen 80; }\n',
  'shared.env': 'SHARED=yes\n',
};
for (const [path, content] of Object.entries(files)) writeFileSync(join(workspace, path), content);
writeFileSync(join(outside, 'secret.env'), 'STOLEN=1\n');
writeFileSync(join(workspace, 'deploy', 'big.env'), `A=${'x'.repeat(1024 * 1024)}\n`);
mkdirSync(join(workspace, 'deploy', 'conf.d'));
symlinkSync(join(outside, 'secret.env'), join(workspace, 'deploy', 'escape.env'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const release = { id: '20261201-101500-abc', time: '2026-12-01T10:15:00Z' };
let count = 0;

/** Writes the stack as deploy/sN.yml and prepares it as a deploy would, through the action's settings. */
function prepare(stack: string, inputs: Record<string, string> = {}): Prepared {
  count += 1;
  const stackFile = `deploy/s${count}.yml`;
  writeFileSync(join(workspace, stackFile), stack);
  const settings = readDeploySettings(
    new Inputs(mapInputs({ host: 'local', client: 'shop', image: 'nginx:1.27', 'stack-file': stackFile, ...inputs })),
    { GITHUB_WORKSPACE: workspace },
  );
  if (settings.request.kind !== 'deploy') throw new Error('expected a deploy');
  return prepareStack(settings.request, release);
}

function refusal(stack: string, inputs: Record<string, string> = {}): StackError {
  try {
    prepare(stack, inputs);
  } catch (error: unknown) {
    expect(error).toBeInstanceOf(StackError);
    return error as StackError;
  }
  throw new Error('the stack was not refused');
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What Docker reads: the wire YAML with its `$$` read back as `$`. */
function dockerView(prepared: Prepared): Obj {
  return JSON.parse(JSON.stringify(parse(prepared.rendered.yaml)).replaceAll('$$', '$')) as Obj;
}

/** The rendered text holds no file reference for the manager to follow. */
function expectNoPaths(prepared: Prepared): void {
  expect(prepared.rendered.yaml).not.toMatch(/env_file|"file"|\bfile:/);
}

describe('env_file is read from the repository, relative to the stack file', () => {
  test('files in order, later ones overriding earlier ones, the service environment over both, values literal', () => {
    const prepared = prepare(`
services:
  web:
    image: \${IMAGE}
    env_file:
      - ./app.env
      - extra.env
      - ../shared.env
    environment:
      C: own
      D: \${IMAGE}
`);
    expect(dockerView(prepared).services.web.environment).toStrictEqual({
      A: '1',
      B: 'from-extra',
      URL: 'postgres://db/x?a=b#frag',
      Q: '"quoted" $HOME',
      C: 'own',
      SHARED: 'yes',
      D: 'nginx:1.27',
    });
    expectNoPaths(prepared);
  });

  test('one path as a string; a list environment keeps its form and wins', () => {
    const prepared = prepare(`
services:
  web:
    image: \${IMAGE}
    env_file: extra.env
    environment:
      - C=own
      - E=5
`);
    expect(dockerView(prepared).services.web.environment).toStrictEqual(['B=from-extra', 'C=own', 'E=5']);
    expectNoPaths(prepared);
  });

  test('long form: a missing file with required: false is skipped, a present one is read', () => {
    const prepared = prepare(`
services:
  web:
    image: \${IMAGE}
    env_file:
      - path: ./absent.env
        required: false
      - path: ./extra.env
        required: true
  worker:
    image: \${IMAGE}
    env_file:
      - path: ./absent.env
        required: false
`);
    const services = dockerView(prepared).services;
    expect(services.web.environment).toStrictEqual({ B: 'from-extra', C: '3' });
    expect(services.worker.environment).toBeUndefined();
    expectNoPaths(prepared);
  });

  test('every refused or missing file is reported at its line, together with the other problems', () => {
    const error = refusal(`services:
  web:
    image: \${IMAGE}
    env_file:
      - /etc/os-release
      - ../../outside/secret.env
      - escape.env
      - missing.env
      - bad.env
      - latin1.env
    networks: [nowhere]
`);
    expect(error.problems.map((problem) => [problem.where.line, problem.reason])).toStrictEqual([
      [5, 'service "web": env_file: "/etc/os-release" must be a file inside the repository (no absolute path, no ../)'],
      [
        6,
        'service "web": env_file: "../../outside/secret.env" must be a file inside the repository (no absolute path, no ../)',
      ],
      [7, 'service "web": env_file: "escape.env" is a link that leads outside the repository'],
      [
        8,
        'service "web": env_file "missing.env" does not exist in the repository (paths are relative to the stack file)',
      ],
      [
        9,
        'service "web": env_file "bad.env", line 2: "NOVALUE" has no "=": a variable without a value would be read from the environment of the machine that deploys; write NOVALUE=value',
      ],
      [9, `service "web": env_file "bad.env", line 3: "2BAD" is not a variable name (letters, digits, '_', '.', '-')`],
      [10, 'service "web": env_file "latin1.env" is not valid UTF-8 text'],
      [11, 'service "web" joins network "nowhere", which the stack does not declare under "networks"'],
    ]);
    expect(error.message).toMatch(/^deploy\/s\d+\.yml has 8 problems:\n- deploy\/s\d+\.yml:5: service "web": env_file/);
  });
});

test('a directory and a file over 1 MiB are refused', () => {
  const error = refusal('services:\n  web:\n    image: ${IMAGE}\n    env_file: [conf.d, big.env]\n');
  expect(error.problems.map((problem) => problem.reason)).toStrictEqual([
    'service "web": env_file: cannot read "conf.d": not a regular file',
    'service "web": env_file: "big.env" is larger than 1024 KiB',
  ]);
});

describe('configs.<key>.file is read from the repository', () => {
  const stack = `
services:
  web:
    image: \${IMAGE}
    configs:
      - source: nginx
        target: /etc/nginx/nginx.conf
configs:
  nginx:
    file: ./nginx.conf
`;

  test('its content becomes a versioned config, named by its content', () => {
    const prepared = prepare(stack);
    const [config] = prepared.configs;
    expect(prepared.configs).toHaveLength(1);
    expect(config?.name).toBe('nginx');
    expect(config?.content).toBe('server { listen 80; }\n');
    expect(config?.versioned).toMatch(/^shop_nginx_[0-9a-f]{8}$/);
    expect(dockerView(prepared).configs).toStrictEqual({ nginx: { external: true, name: config?.versioned } });
    expect(prepared.rendered.services[0]?.configs).toStrictEqual([config?.versioned]);
    expectNoPaths(prepared);

    writeFileSync(join(workspace, 'deploy', 'nginx.conf'), 'server { listen 8080; }\n');
    try {
      const changed = prepare(stack).configs[0]?.versioned;
      expect(changed).toMatch(/^shop_nginx_[0-9a-f]{8}$/);
      expect(changed).not.toBe(config?.versioned);
    } finally {
      writeFileSync(join(workspace, 'deploy', 'nginx.conf'), files['deploy/nginx.conf'] as string);
    }
  });

  test('the same key given in the configs input too is refused as ambiguous', () => {
    const error = refusal(stack, { configs: 'nginx=deploy/nginx.conf' });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.where.line).toBe(10);
    expect(error.problems[0]?.reason).toBe(
      'config "nginx" is given twice, by its file "./nginx.conf" and in the configs input: keep one',
    );
    expect(error.field).toBe('configs');
  });

  test('a path that leads out of the repository is refused at its line, with the secrets file', () => {
    const error = refusal(
      `services:
  web:
    image: \${IMAGE}
    configs: [a, b]
    secrets: [token, db, shared]
configs:
  a:
    file: ../../outside/secret.env
  b:
    file: /etc/passwd
secrets:
  token:
    file: ./token.txt
  db:
    file: ./db.txt
  shared:
    external: true
`,
      { secrets: 'db=hunter2' },
    );
    expect(error.problems.map((problem) => [problem.where.line, problem.reason])).toStrictEqual([
      [
        8,
        'config "a": file: "../../outside/secret.env" must be a file inside the repository (no absolute path, no ../)',
      ],
      [10, 'config "b": file: "/etc/passwd" must be a file inside the repository (no absolute path, no ../)'],
      [
        13,
        'secret "token" names a file: secrets come through the secrets input (masked), never from a file in the repository; give token=... in the secrets input, or mark it external: true',
      ],
    ]);
  });

  test('a secret given in the secrets input and an external one render without a file', () => {
    const prepared = prepare(
      `
services:
  web:
    image: \${IMAGE}
    secrets: [db, shared]
secrets:
  db:
    file: ./db.txt
  shared:
    external: true
    name: shop_shared
`,
      { secrets: 'db=hunter2' },
    );
    const secrets = dockerView(prepared).secrets;
    expect(secrets.db).toStrictEqual({ external: true, name: prepared.secrets[0]?.versioned });
    expect(secrets.shared).toStrictEqual({ external: true, name: 'shop_shared' });
    expectNoPaths(prepared);
  });
});
