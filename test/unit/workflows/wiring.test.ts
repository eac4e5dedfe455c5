import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWorkflow, packActionName, ROOT, type JobDoc, type StepDoc, type WorkflowDoc } from './workflow-files.js';

const deploy = loadWorkflow(join(ROOT, '.github/workflows/deploy.yml'));
const rollback = loadWorkflow(join(ROOT, '.github/workflows/rollback.yml'));

function job(workflow: WorkflowDoc, id: string): JobDoc {
  const found = workflow.jobs[id];
  if (found === undefined) throw new Error(`no job ${id}`);
  return found;
}

function steps(j: JobDoc): StepDoc[] {
  return j.steps ?? [];
}

function step(j: JobDoc, id: string): StepDoc {
  const found = steps(j).find((s) => s.id === id);
  if (found === undefined) throw new Error(`no step ${id}`);
  return found;
}

/** The pack's actions a job uses, in order. */
function packActions(j: JobDoc): string[] {
  return steps(j).flatMap((s) => {
    const name = s.uses === undefined ? undefined : packActionName(s.uses);
    return name === undefined ? [] : [name];
  });
}

function callInputs(workflow: WorkflowDoc): Record<string, { type: string; required?: boolean; default?: unknown }> {
  return (workflow.on.workflow_call as { inputs: Record<string, { type: string; required?: boolean }> }).inputs;
}

function callSecrets(workflow: WorkflowDoc): Record<string, { required?: boolean }> {
  return (workflow.on.workflow_call as { secrets: Record<string, { required?: boolean }> }).secrets;
}

const allUses = (workflow: WorkflowDoc) =>
  Object.values(workflow.jobs).flatMap((j) => steps(j).map((s) => s.uses ?? ''));

describe.each([
  ['deploy.yml', deploy],
  ['rollback.yml', rollback],
])('%s: a reusable workflow', (_name, workflow) => {
  it('is only callable (on: workflow_call)', () => {
    expect(Object.keys(workflow.on)).toEqual(['workflow_call']);
  });

  it('declares typed inputs', () => {
    for (const [name, input] of Object.entries(callInputs(workflow))) {
      expect(['string', 'number', 'boolean'], name).toContain(input.type);
    }
  });

  it('requires the secrets a run cannot do without (an unpassed secret is an empty string)', () => {
    const secrets = callSecrets(workflow);
    for (const name of ['AWS_ROLE_ARN', 'SWARM_SSH_KEY', 'SWARM_KNOWN_HOSTS', 'DISCORD_WEBHOOK']) {
      expect(secrets[name]?.required, name).toBe(true);
    }
  });

  it('hands every routing input to each swarm-deploy step, so a multi-service stack can name its routed service', () => {
    const deploySteps = Object.values(workflow.jobs).flatMap((j) =>
      steps(j).filter((s) => s.uses !== undefined && packActionName(s.uses) === 'swarm-deploy'),
    );
    expect(deploySteps.length).toBeGreaterThan(0);
    for (const input of ['domain', 'service-port', 'routed-service', 'entrypoint', 'cert-resolver']) {
      expect(callInputs(workflow)[input]).toBeDefined();
      for (const s of deploySteps) expect(s.with?.[input]).toBe(`\${{ inputs.${input} }}`);
    }
  });

  it('runs every job on the runs-on input: one label, or a JSON list of labels for a self-hosted runner', () => {
    expect(callInputs(workflow)['runs-on']).toEqual(
      expect.objectContaining({ type: 'string', default: 'ubuntu-latest' }),
    );
    for (const [id, j] of Object.entries(workflow.jobs)) {
      expect(j['runs-on'], id).toBe(
        "${{ startsWith(inputs.runs-on, '[') && fromJSON(inputs.runs-on) || inputs.runs-on }}",
      );
    }
  });

  it('hands the jump host and its own key to each swarm-deploy step, with the managers’ pinned keys', () => {
    expect(callInputs(workflow)['jump-host']).toEqual(expect.objectContaining({ type: 'string', default: '' }));
    expect(callSecrets(workflow).SWARM_JUMP_SSH_KEY?.required).toBe(false);
    const deploySteps = Object.values(workflow.jobs).flatMap((j) =>
      steps(j).filter((s) => s.uses !== undefined && packActionName(s.uses) === 'swarm-deploy'),
    );
    for (const s of deploySteps) {
      expect(s.with).toMatchObject({
        'jump-host': '${{ inputs.jump-host }}',
        'jump-ssh-key': '${{ secrets.SWARM_JUMP_SSH_KEY }}',
        'known-hosts': '${{ secrets.SWARM_KNOWN_HOSTS }}',
      });
    }
  });

  it('references the pack’s actions by the published repository at v1, never by ./ (the caller’s checkout)', () => {
    const ours = allUses(workflow).filter((u) => packActionName(u) !== undefined);
    expect(ours.length).toBeGreaterThan(0);
    for (const uses of ours) expect(uses).toMatch(/^swarm-deploy-org\/swarm-deploy\/actions\/[a-z-]+@v1$/);
    expect(allUses(workflow).filter((u) => u.startsWith('./'))).toEqual([]);
  });

  it('gets AWS credentials through OIDC (role-to-assume, id-token: write), never from keys', () => {
    for (const j of Object.values(workflow.jobs)) {
      const aws = steps(j).filter((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
      for (const s of aws) {
        expect(s.with?.['role-to-assume']).toBe('${{ secrets.AWS_ROLE_ARN }}');
        expect(s.with).not.toHaveProperty('aws-access-key-id');
        // The deploying job also records the release that runs after a rollback (record-deployment).
        const records = steps(j).some((s) => packActionName(s.uses ?? '') === 'record-deployment');
        expect(j.permissions).toEqual({
          'id-token': 'write',
          contents: 'read',
          ...(records ? { deployments: 'write' } : {}),
        });
      }
    }
  });

  it('passes each secret only to inputs meant for secrets', () => {
    const secretInputs: Record<string, string[]> = {
      'secrets.AWS_ROLE_ARN': ['role-to-assume'],
      'secrets.SWARM_SSH_KEY': ['ssh-key'],
      'secrets.SWARM_KNOWN_HOSTS': ['known-hosts'],
      'secrets.SWARM_JUMP_SSH_KEY': ['jump-ssh-key'],
      'secrets.DISCORD_WEBHOOK': ['webhook-url'],
      'secrets.APP_SECRETS': ['secrets'],
    };
    for (const j of Object.values(workflow.jobs)) {
      for (const s of steps(j)) {
        for (const [input, value] of Object.entries(s.with ?? {})) {
          for (const [secret, allowed] of Object.entries(secretInputs)) {
            if (String(value).includes(secret)) expect(allowed, `${s.name ?? s.id}: ${input}`).toContain(input);
          }
        }
        expect(JSON.stringify(s.run ?? ''), 'no secret in a shell script').not.toContain('secrets.');
      }
    }
  });

  it('queues deploys per client and environment, never cancelling a running one, and never queues a rollback where a push could drop it', () => {
    const main = job(deploy, 'deploy');
    expect(main.concurrency?.group).toContain('${{ inputs.client }}');
    expect(main.concurrency?.group).toContain('${{ inputs.environment }}');
    expect(main.concurrency?.['cancel-in-progress']).toBe(false);
    // GitHub cancels a group's pending run when a newer one queues: a rollback in no group is never
    // pending, so never dropped; the lock on the cluster serialises it with a running deploy.
    expect(job(rollback, 'rollback').concurrency).toBeUndefined();
    for (const j of Object.values(rollback.jobs)) expect(j.concurrency).toBeUndefined();
    expect(rollback.concurrency).toBeUndefined();
  });

  it('runs in the GitHub environment, with the service URL (a rollback records its own deployment)', () => {
    const main = workflow === deploy ? job(deploy, 'deploy') : job(rollback, 'rollback');
    expect(main.environment).toEqual({
      name: '${{ inputs.environment }}',
      url: '${{ steps.target.outputs.url }}',
      // GitHub's own deployment of a dispatched rollback would be of the branch head, not of the release restored.
      ...(workflow === rollback ? { deployment: false } : {}),
    });
  });

  it('records the release that runs after a rollback, with the job token, never failing the job for it', () => {
    const main = workflow === deploy ? job(deploy, 'deploy') : job(rollback, 'rollback');
    const record = step(main, 'record');
    expect(packActionName(record.uses ?? '')).toBe('record-deployment');
    expect(record.if).toMatch(/^always\(\) && /);
    expect(record.with?.environment).toBe('${{ inputs.environment }}');
    expect(record.with?.url).toBe('${{ steps.target.outputs.url }}');
    expect(record.with).not.toHaveProperty('token');
    expect(record.with).not.toHaveProperty('fail-on-error');
    if (workflow === deploy) {
      expect(record.if).toContain("steps.result.outputs.status == 'rolled-back'");
      expect(record.with?.sha).toBe('${{ steps.rollback.outputs.running-sha || steps.deploy.outputs.running-sha }}');
    } else {
      expect(record.with?.sha).toBe('${{ steps.rollback.outputs.running-sha }}');
      expect(record.with?.['replaces-sha']).toBe('${{ steps.rollback.outputs.previous-sha }}');
    }
  });
});

describe('deploy.yml', () => {
  const build = job(deploy, 'build');
  const dep = job(deploy, 'deploy');

  it('builds, then pushes to ECR after assuming the AWS role', () => {
    const uses = steps(build).map((s) => s.uses ?? 'run');
    expect(uses[0]).toMatch(/^actions\/checkout@/);
    expect(packActions(build)).toEqual(['build-and-tag', 'ecr-push']);
    const aws = uses.findIndex((u) => u.startsWith('aws-actions/configure-aws-credentials@'));
    expect(aws).toBeGreaterThan(uses.findIndex((u) => u.includes('/build-and-tag@')));
    expect(aws).toBeLessThan(uses.findIndex((u) => u.includes('/ecr-push@')));
    expect(step(build, 'push').with?.source).toBe('${{ steps.build.outputs.tags }}');
    expect(build.outputs).toEqual({
      version: '${{ steps.build.outputs.version }}',
      image: '${{ steps.push.outputs.image }}',
    });
  });

  it('deploys after the build', () => {
    expect(dep.needs).toBe('build');
  });

  it('uses the steps in order: notify started → deploy → verify → roll back → record what runs → notify the result', () => {
    expect(packActions(dep)).toEqual([
      'notify-discord',
      'swarm-deploy',
      'verify-health',
      'swarm-deploy',
      'record-deployment',
      'notify-discord',
    ]);
  });

  it('deploys exactly the pushed digest, with the APP_SECRETS and the ECR pull token', () => {
    const s = step(dep, 'deploy');
    expect(s.with?.image).toBe('${{ needs.build.outputs.image }}');
    expect(s.with?.secrets).toBe('${{ secrets.APP_SECRETS }}');
    expect(s.with?.client).toBe('${{ inputs.client }}');
    expect(s.with?.registry).toBe('${{ steps.ecr-login.outputs.registry }}');
    expect(s.with?.['registry-username']).toBe('AWS');
    expect(s.with?.['registry-password']).toMatch(/^\$\{\{ steps\.ecr-login\.outputs\[format\('docker_password_\{0\}'/);
    const login = step(dep, 'ecr-login');
    expect(login.uses).toMatch(/^aws-actions\/amazon-ecr-login@v2$/);
    expect(login.with?.['mask-password']).toBe('true');
  });

  it('verifies that the build’s version is what the service serves', () => {
    expect(step(dep, 'verify').with?.['expected-version']).toBe('${{ needs.build.outputs.version }}');
    // The first domain's URL, unless health-url names another way in (a load balancer, the lab).
    expect(step(dep, 'verify').with?.url).toBe(
      "${{ inputs.health-url || format('{0}{1}', steps.target.outputs.url, inputs.health-path) }}",
    );
    expect(step(job(rollback, 'rollback'), 'verify').with?.url).toBe(step(dep, 'verify').with?.url);
    // The image is told its commit, which is what /version and /health report.
    expect(step(build, 'build').with?.['build-args']).toContain('GIT_SHA=');
  });

  it('rolls back to the previous release only when verification failed', () => {
    const s = step(dep, 'rollback');
    expect(packActionName(s.uses ?? '')).toBe('swarm-deploy');
    expect(s.with?.['rollback-to']).toBe('previous');
    expect(s.if).toBe("failure() && steps.verify.outcome == 'failure'");
    expect(s.with).not.toHaveProperty('image');
  });

  it('reports the final status always, editing the message posted at the start', () => {
    const started = step(dep, 'started');
    expect(started.with?.status).toBe('started');
    const final = steps(dep).at(-1);
    expect(packActionName(final?.uses ?? '')).toBe('notify-discord');
    expect(final?.if).toBe('always()');
    expect(final?.with?.['message-id']).toBe('${{ steps.started.outputs.message-id }}');
    expect(final?.with?.status).toBe('${{ steps.result.outputs.notify }}');
    expect(step(dep, 'result').if).toBe('always()');
  });

  it('tells the team about a failed build too', () => {
    const notify = job(deploy, 'notify-build-failure');
    expect(notify.needs).toBe('build');
    expect(notify.if).toBe('failure()');
    expect(packActions(notify)).toEqual(['notify-discord']);
  });

  it('outputs version, image and status', () => {
    const outputs = (deploy.on.workflow_call as { outputs: Record<string, { value: string }> }).outputs;
    expect(Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]))).toEqual({
      version: '${{ jobs.build.outputs.version }}',
      image: '${{ jobs.build.outputs.image }}',
      status: '${{ jobs.deploy.outputs.status }}',
    });
    expect(dep.outputs?.status).toBe('${{ steps.result.outputs.status }}');
  });

  it('has every input the issue names', () => {
    expect(Object.keys(callInputs(deploy))).toEqual(
      expect.arrayContaining([
        'client',
        'service',
        'environment',
        'context',
        'dockerfile',
        'stack-file',
        'domain',
        'health-path',
        'aws-region',
        'ecr-repository',
        'manager-host',
        'tier',
        'replicas',
      ]),
    );
    expect(callSecrets(deploy).APP_SECRETS?.required).toBe(false);
  });
});

describe('rollback.yml', () => {
  const rb = job(rollback, 'rollback');

  it('takes the release to restore as a required string', () => {
    expect(callInputs(rollback).version).toMatchObject({ type: 'string', required: true });
  });

  it('rolls back → verifies → notifies, the result always and in the same message', () => {
    expect(packActions(rb)).toEqual([
      'notify-discord',
      'swarm-deploy',
      'verify-health',
      'record-deployment',
      'notify-discord',
    ]);
    expect(step(rb, 'rollback').with?.['rollback-to']).toBe('${{ inputs.version }}');
    const final = steps(rb).at(-1);
    expect(final?.if).toBe('always()');
    expect(final?.with?.['message-id']).toBe('${{ steps.started.outputs.message-id }}');
  });

  it('outputs status, image and release', () => {
    const outputs = (rollback.on.workflow_call as { outputs: Record<string, unknown> }).outputs;
    expect(Object.keys(outputs).sort()).toEqual(['image', 'release', 'status']);
  });
});

describe('the examples call the reusable workflows', () => {
  it.each(['client-a', 'client-b'])('%s deploys on push to main and rolls back on workflow_dispatch', (client) => {
    const d = loadWorkflow(join(ROOT, 'examples', client, '.github/workflows/deploy.yml'));
    expect(d.on).toEqual({ push: { branches: ['main'] } });
    expect(d.jobs.deploy?.uses).toBe('swarm-deploy-org/swarm-deploy/.github/workflows/deploy.yml@v1');
    expect(d.jobs.deploy?.with?.client).toBe(client);
    const r = loadWorkflow(join(ROOT, 'examples', client, '.github/workflows/rollback.yml'));
    const dispatch = r.on.workflow_dispatch as { inputs: Record<string, { type: string }> };
    expect(dispatch.inputs.version?.type).toBe('string');
    expect(r.jobs.rollback?.uses).toBe('swarm-deploy-org/swarm-deploy/.github/workflows/rollback.yml@v1');
    expect(r.jobs.rollback?.with?.version).toBe('${{ inputs.version }}');
  });
});
