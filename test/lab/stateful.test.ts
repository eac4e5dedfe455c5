import { afterAll, describe, expect, it } from 'vitest';
import { buildAppImage } from '../../lab/lab.js';
import { clientName, deployStep, docker, lab, removeClient, sshInputs, writeStack } from './support.js';

// A service that mounts a named volume is updated stop-first unless its stack says otherwise: two
// tasks never run on the same data at once, and the data outlives the update.
const run = Date.now().toString(36);
const v1 = buildAppImage(lab, { version: `st1-${run}` });
const v2 = buildAppImage(lab, { version: `st2-${run}` });

const STACK = `services:
  db:
    image: \${IMAGE}
    volumes:
      - data:/data
    deploy:
      replicas: 1
      update_config:
        monitor: 2s
      rollback_config:
        monitor: 2s
volumes:
  data:
`;

const client = clientName('stateful');

afterAll(async () => {
  await removeClient(client);
}, 120_000);

/** The service's task containers (running or stopped), with their image and start and end times. */
async function containers() {
  const ids = (await docker('ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${client}_db`))
    .split('\n')
    .filter(Boolean);
  const lines = await docker(
    'inspect',
    '--format',
    '{{.Config.Image}}|{{.State.StartedAt}}|{{.State.FinishedAt}}|{{.State.Running}}',
    ...ids,
  );
  return lines.split('\n').map((line) => {
    const [image, started, finished, running] = line.split('|');
    return { image: image ?? '', started: Date.parse(started ?? ''), finished: Date.parse(finished ?? ''), running };
  });
}

async function runningContainer(): Promise<string> {
  return docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${client}_db`);
}

describe('a service with a named volume', () => {
  it('is updated stop-first with a notice, and its data is intact after the update', async () => {
    const stack = writeStack(client, STACK);
    const inputs = (image: string) => ({
      ...sshInputs(),
      client,
      'stack-file': stack,
      image,
      timeout: '2m',
      'stuck-timeout': '30s',
    });
    const first = await deployStep(inputs(v1));
    expect(first.failure).toBeUndefined();
    expect(first.log.text()).toContain('[stateful-order]');
    expect(first.log.text()).toContain('service "db" mounts the named volume "data"');

    const order = await docker(
      'service',
      'inspect',
      '--format',
      '{{.Spec.UpdateConfig.Order}} {{.Spec.RollbackConfig.Order}}',
      `${client}_db`,
    );
    expect(order).toBe('stop-first stop-first');

    const marker = `written-by-v1-${run}`;
    await docker('exec', await runningContainer(), 'sh', '-c', `echo ${marker} > /data/marker`);

    const second = await deployStep(inputs(v2));
    expect(second.failure).toBeUndefined();
    expect(second.outputs.get('status')).toBe('deployed');

    expect(await docker('exec', await runningContainer(), 'cat', '/data/marker')).toBe(marker);
    // Stop-first: the v1 task had stopped before the v2 task started.
    const all = await containers();
    const old = all.find((c) => c.image.startsWith(v1));
    const fresh = all.find((c) => c.image.startsWith(v2));
    expect(old?.running).toBe('false');
    expect(fresh?.running).toBe('true');
    expect(old!.finished).toBeLessThanOrEqual(fresh!.started);
  });
});
