import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAppImage, REPO_ROOT } from '../../lab/lab.js';
import { clientName, deployStep, docker, lab, removeClient, sshInputs, writeStack } from './support.js';

// Files a stack refers to (env files, config files) come from the repository, relative to the stack
// file, and travel with the deploy: nothing is read on the manager, and no path leaves the repository.
const run = Date.now().toString(36);
const v1 = buildAppImage(lab, { version: `sf1-${run}` });

const clients: string[] = [];
afterAll(async () => {
  for (const client of clients) await removeClient(client);
}, 180_000);

function newClient(label: string): string {
  const client = clientName(label);
  clients.push(client);
  return client;
}

/** Writes a file next to the client's stack file (inside the repository). */
function writeBeside(stack: string, name: string, text: string): string {
  const path = join(REPO_ROOT, dirname(stack), name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

function inputs(client: string, stack: string) {
  return { ...sshInputs(), client, 'stack-file': stack, image: v1, timeout: '2m', 'stuck-timeout': '45s' };
}

/** The swarm objects of a client: services with their spec versions, configs, secrets, networks. */
async function objectsOf(client: string): Promise<string> {
  const services = (await docker('service', 'ls', '--filter', `name=${client}_`, '--format', '{{.Name}}'))
    .split('\n')
    .filter(Boolean);
  const versions = services.length
    ? await docker('service', 'inspect', '--format', '{{.Spec.Name}} {{.Version.Index}}', ...services)
    : '';
  const names = async (kind: string) =>
    (await docker(kind, 'ls', '--format', '{{.Name}}'))
      .split('\n')
      .filter((name) => name.includes(client))
      .sort()
      .join(',');
  return [versions, await names('config'), await names('secret'), await names('network')].join('\n');
}

describe('files a stack refers to', () => {
  it('env files and config files are read from the repository and reach the service', async () => {
    const client = newClient('stackfiles');
    const stack = writeStack(
      client,
      `services:
  web:
    image: \${IMAGE}
    env_file:
      - ./env/common.env
      - ./env/web.env
    environment:
      SHARED: from-stack
    configs:
      - source: app_conf
        target: /etc/app.conf
    deploy:
      replicas: 1
      update_config:
        monitor: 2s
configs:
  app_conf:
    file: ./conf/app.conf
`,
    );
    writeBeside(stack, 'env/common.env', '# common settings\nFROM_COMMON=one\nOVERRIDDEN=common\nSHARED=from-file\n');
    writeBeside(stack, 'env/web.env', '\nOVERRIDDEN=web\nWITH_SPACES=a b  c\n');
    writeBeside(stack, 'conf/app.conf', `listen 8080; # ${run}\n`);

    const deployed = await deployStep(inputs(client, stack));
    expect(deployed.failure, deployed.log.text()).toBeUndefined();
    expect(deployed.outputs.get('status')).toBe('deployed');

    const env = await docker(
      'service',
      'inspect',
      '--format',
      '{{json .Spec.TaskTemplate.ContainerSpec.Env}}',
      `${client}_web`,
    );
    const vars = JSON.parse(env) as string[];
    expect(vars).toEqual(
      expect.arrayContaining(['FROM_COMMON=one', 'OVERRIDDEN=web', 'WITH_SPACES=a b  c', 'SHARED=from-stack']),
    );
    expect(vars.filter((v) => v.startsWith('SHARED='))).toEqual(['SHARED=from-stack']);

    const task = await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${client}_web`);
    expect(await docker('exec', task, 'cat', '/etc/app.conf')).toBe(`listen 8080; # ${run}`);
  });

  it('refuses paths that leave the repository or read the manager, and changes nothing', async () => {
    const client = newClient('stackesc');
    const base = `services:
  web:
    image: \${IMAGE}
    deploy:
      replicas: 1
      update_config:
        monitor: 2s
`;
    const first = await deployStep(inputs(client, writeStack(client, base)));
    expect(first.failure, first.log.text()).toBeUndefined();
    const before = await objectsOf(client);

    const stackDir = join(REPO_ROOT, dirname(writeStack(client, base)));
    symlinkSync('/etc/hostname', join(stackDir, 'linked.env'));
    const escapes: [string, string][] = [
      ['absolute env file', '    env_file: /etc/os-release\n'],
      ['env file above the repository', `    env_file: ${'../'.repeat(12)}etc/os-release\n`],
      ['env file through a link', '    env_file: ./linked.env\n'],
      ['absolute config file', '    configs: [leak]\n'],
    ];
    for (const [what, line] of escapes) {
      const extra = what === 'absolute config file' ? 'configs:\n  leak:\n    file: /etc/passwd\n' : '';
      const text = base.replace('    deploy:\n', `${line}    deploy:\n`) + extra;
      const refused = await deployStep(inputs(client, writeStack(client, text, 'escape.yml')));
      expect(refused.failure, what).toBeDefined();
      expect(refused.outputs.get('status'), what).not.toBe('deployed');
      expect(refused.failure, what).toMatch(/repository|absolute|outside/i);
      expect(refused.log.text(), what).not.toMatch(/PRETTY_NAME|root:x:0:0/);
      expect(await objectsOf(client), what).toBe(before);
    }
  });

  it('reports every structural problem of a stack file in one run', async () => {
    const client = newClient('stackprobs');
    const stack = writeStack(
      client,
      `services:
  web:
    image: \${IMAGE}
    networks: [backend]
    volumes:
      - data:/data
    secrets: [api_key]
    configs: [settings]
    env_file: ./missing.env
configs:
  settings:
    external: false
secrets:
  api_key:
    file: ./api_key.txt
`,
    );
    const refused = await deployStep(inputs(client, stack));
    expect(refused.failure).toBeDefined();
    const text = refused.log.text();
    for (const expected of [
      /network "backend"/,
      /volume "data"/,
      /secret "api_key"/,
      /config "settings"/,
      /missing\.env/,
    ]) {
      expect(text).toMatch(expected);
    }
    // Each problem is also an annotation on its line of the stack file.
    expect(
      refused.log.errors.filter((e) => e.annotation.file?.endsWith('stack.yml') && e.annotation.startLine).length,
    ).toBeGreaterThanOrEqual(5);
    expect(await docker('service', 'ls', '--filter', `name=${client}_`, '--format', '{{.Name}}')).toBe('');
  });
});
