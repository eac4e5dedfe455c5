import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouter, REPO_ROOT } from '../../lab/lab.js';
import { labRepository, onboardClient, treeSha, type LabRepository } from '../../lab/workflow/lab-repository.js';
import { runPage } from '../../lab/workflow/report.js';
import { runWorkflow, type JobRun, type WorkflowRun } from '../../lab/workflow/run.js';
import { capture, clientName, freePort, lab, recordSecrets, removeClient, servedVersion } from './support.js';

/*
 * examples/client-a's own push workflow, run by the lab's workflow runner as GitHub would: the
 * caller → the reusable deploy.yml → the five actions from their committed bundles under Node 24,
 * against the real lab swarm over SSH, the lab registry behind an ECR-shaped endpoint, and a
 * Discord-shaped receiver. The client name is the test's own (`lt-…`).
 */

const client = clientName('wf');
let repository: LabRepository;
let router: { url: string; name: string };
let goodSha = '';

/** client-a's repository at a commit, with the test's client name in its caller workflow. */
function commit(label: string, edit?: (root: string) => void): { root: string; sha: string } {
  const root = join(lab.dir, 'work', client, label);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  cpSync(join(REPO_ROOT, 'examples', 'client-a'), root, {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  });
  const workflow = join(root, '.github', 'workflows', 'deploy.yml');
  writeFileSync(workflow, readFileSync(workflow, 'utf8').replace('client: client-a', `client: ${client}`));
  edit?.(root);
  return { root, sha: treeSha(root) };
}

async function push(release: { root: string; sha: string }): Promise<WorkflowRun> {
  const run = await runWorkflow({
    workflow: join(release.root, '.github', 'workflows', 'deploy.yml'),
    repository: { root: release.root, name: 'example-org/client-a' },
    packRoot: REPO_ROOT,
    event: { name: 'push', ref: 'refs/heads/main' },
    sha: release.sha,
    secrets: repository.secrets,
    vars: repository.vars,
    standIns: repository.standIns,
    githubApi: { url: repository.github.url, token: repository.github.token },
    runDir: join(lab.dir, 'work', client, 'runs', release.sha.slice(0, 12)),
  });
  capture(`run page of ${release.sha.slice(0, 7)}`, runPage(run, release.root).join('\n'));
  for (const job of run.jobs) {
    for (const step of job.steps) {
      capture(`${job.name} / ${step.name}`, [...step.log, ...Object.values(step.outputs)].join('\n'));
    }
    capture(`${job.name} summary`, job.summary);
  }
  return run;
}

function job(run: WorkflowRun, id: string): JobRun {
  const found = run.jobs.find((j) => j.id === id);
  if (!found) throw new Error(`no job ${id}: ${run.jobs.map((j) => j.id).join(', ')}`);
  return found;
}

function steps(run: WorkflowRun, id: string): [string, string][] {
  return job(run, id).steps.map((s) => [s.name, s.conclusion]);
}

beforeAll(async () => {
  await onboardClient(client);
  // The router answers once the service exists: the workflow's verify-health waits for it.
  const port = await freePort();
  router = { url: `http://127.0.0.1:${port}`, name: `${client}-router` };
  createRouter(lab, { name: router.name, client, service: 'api', port, labels: ['swarm-deploy.lab=test'] });
  // Swarm watches each updated task for `monitor` before it moves on, one replica at a time: the
  // wiring under test is the same with one replica and a short monitor (client-a's STACK_ENV).
  repository = await labRepository(lab, {
    healthUrl: `${router.url}/health`,
    verifyTimeout: '20s',
    stackEnv: 'UPDATE_MONITOR=3s\nREPLICAS=1',
  });
  await recordSecrets({ 'workflow ssh key': repository.secrets.SWARM_SSH_KEY ?? '', webhook: repository.discord.url });
});

afterAll(async () => {
  await repository?.close();
  await removeClient(client);
  rmSync(join(lab.dir, 'work', client), { recursive: true, force: true });
});

describe("client-a's push workflow through the reusable deploy.yml, on the lab", () => {
  it('a good commit: build → push → deploy → verify → notify; deployed, the failure paths skipped', async () => {
    const good = commit('good');
    goodSha = good.sha;
    const run = await push(good);
    expect(run.conclusion).toBe('success');
    expect(job(run, 'deploy').outputs).toMatchObject({ status: 'deployed', version: good.sha.slice(0, 7) });
    expect(job(run, 'deploy').outputs.image).toMatch(new RegExp(`^${lab.registry}/${client}/api@sha256:[0-9a-f]{64}$`));
    expect(steps(run, 'deploy/build')).toEqual([
      ['Check out', 'success'],
      ['Build and tag', 'success'],
      ['Configure AWS credentials (OIDC)', 'success'],
      ['Push to ECR', 'success'],
    ]);
    expect(steps(run, 'deploy/deploy')).toEqual([
      ['Check out', 'success'],
      ['Resolve the service URL', 'success'],
      ['Notify started', 'success'],
      ['Configure AWS credentials (OIDC)', 'success'],
      ['Get the ECR pull token', 'success'],
      ['Name the ECR token outputs', 'success'],
      ['Deploy to the Swarm', 'success'],
      ['Verify the new version serves', 'success'],
      ['Roll back to the previous release', 'skipped'],
      ['Decide the result', 'success'],
      ['Record the release that runs', 'skipped'],
      ['Notify the result', 'success'],
      // swarm-deploy's post step (post-if: always()) releases the lock at the end of the job.
      ['Post Deploy to the Swarm', 'success'],
    ]);
    expect(job(run, 'deploy/notify-build-failure').result).toBe('skipped');
    expect(job(run, 'deploy/deploy').shown.environment).toEqual({
      name: 'production',
      url: 'https://api.client-a.example.com',
    });
    await expect(servedVersion(router.url)).resolves.toBe(good.sha);
    // A good deploy leaves the job's own deployment (GitHub's) as it is: nothing recorded.
    expect(repository.github.deployments).toEqual([]);
    // One Discord message per deploy: posted at the start, edited with the result.
    const messages = [...repository.discord.messages.values()];
    expect(messages).toHaveLength(1);
    expect(messages[0]?.edits).toBe(1);
    expect(messages[0]?.embeds[0]?.title).toMatch(/deployed/);
    // The ECR token the manager pulls with was masked wherever it was printed.
    const password = Object.entries(job(run, 'deploy/deploy').steps[4]?.outputs ?? {}).find(([k]) =>
      k.startsWith('docker_password_'),
    )?.[1];
    expect(password).toBeTruthy();
    expect(run.masks).toContain(password);
  });

  it('a commit serving the wrong version: verify-health fails, the workflow rolls back; red, rolled-back', async () => {
    expect(goodSha).not.toBe('');
    const wrong = commit('wrong-version', (root) => {
      const server = join(root, 'src', 'server.js');
      writeFileSync(server, readFileSync(server, 'utf8').replace('process.env.GIT_SHA', 'process.env.RELEASE_SHA'));
    });
    const run = await push(wrong);
    expect(run.conclusion).toBe('failure');
    expect(job(run, 'deploy').outputs.status).toBe('rolled-back');
    const deploy = job(run, 'deploy/deploy');
    expect(deploy.result).toBe('failure');
    const byId = new Map(deploy.steps.filter((s) => s.phase === 'main').map((s) => [s.id, s.outcome]));
    expect(Object.fromEntries(byId)).toMatchObject({
      deploy: 'success',
      verify: 'failure',
      rollback: 'success',
      result: 'success',
      record: 'success',
    });
    // The environment shows the release that runs again, not the commit that failed.
    const active = repository.github.active('production');
    expect(active?.sha).toBe(goodSha);
    expect(active?.statuses.at(-1)).toMatchObject({
      state: 'success',
      environmentUrl: 'https://api.client-a.example.com',
    });
    expect(active?.statuses.at(-1)?.description).toMatch(/failed verification/);
    expect(
      deploy.steps
        .find((s) => s.id === 'verify')
        ?.annotations.map((a) => a.message)
        .join('\n'),
    ).toMatch(/serves version "unknown", expected "[0-9a-f]{7}"/);
    await expect(servedVersion(router.url)).resolves.toBe(goodSha);
    const last = [...repository.discord.messages.values()].at(-1);
    expect(last?.embeds[0]?.title).toMatch(/rolled back/);
  });
});
