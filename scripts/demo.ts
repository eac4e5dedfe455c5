/**
 * `npm run demo`: examples/client-a shipped onto the local lab swarm through its own GitHub
 * workflows, run by the lab's workflow runner as GitHub would run them:
 *
 *   1. a push → client-a's deploy workflow → the reusable deploy.yml → build-and-tag, ecr-push,
 *      swarm-deploy, verify-health, notify-discord → deployed;
 *      (twice: a second good release gives the manual rollback somewhere to go back to);
 *   2. a commit whose release crashes → Swarm rolls back, the run is red;
 *   3. a commit Docker finds healthy but that serves the wrong version → verify-health fails and
 *      the workflow's rollback step puts the previous release back (red, status rolled-back);
 *   4. a manual rollback: client-a's rollback workflow (workflow_dispatch) → rollback.yml.
 *
 * The reusable workflows reach the service through their `health-url` input (a repository
 * variable of client-a), here the lab's router standing in for Traefik. Safe to run again: each
 * run is a new set of releases of the same client.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRouter, labUp, REPO_ROOT, type LabInfo } from '../lab/lab.js';
import { labRepository, onboardClient, treeSha, type LabRepository } from '../lab/workflow/lab-repository.js';
import { liveReporter, runPage } from '../lab/workflow/report.js';
import { runWorkflow, type RunOptions, type WorkflowRun } from '../lab/workflow/run.js';
import { readHistory } from '../src/state/history.js';
import { LocalRunner } from '../src/core/exec.js';

const CLIENT = 'client-a';
const REPOSITORY = 'example-org/client-a';
const RUN = new Date().toISOString();
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = '') => console.log(s);

/** The lab has no Traefik image to pull; a small router on client-a-net stands in for it. */
async function ensureRouter(lab: LabInfo): Promise<string> {
  const docker = new LocalRunner();
  const name = `${CLIENT}-demo-router`;
  const existing = await docker.run(['docker', 'service', 'inspect', '--format', '{{json .Endpoint.Ports}}', name], {
    allowFailure: true,
  });
  let port: number | undefined;
  if (existing.code === 0) {
    port = (JSON.parse(existing.stdout) as { PublishedPort: number }[] | null)?.[0]?.PublishedPort;
  }
  if (!port) {
    port = 18080;
    await docker.run(['docker', 'service', 'rm', name], { allowFailure: true });
    createRouter(lab, { name, client: CLIENT, service: 'api', port });
  }
  return `http://127.0.0.1:${port}`;
}

/** client-a's repository at a commit: a copy of examples/client-a, changed by `edit`. */
function commit(lab: LabInfo, label: string, edit?: (root: string) => void): { root: string; sha: string } {
  const root = join(lab.dir, 'demo', label);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  cpSync(join(REPO_ROOT, 'examples', CLIENT), root, {
    recursive: true,
    filter: (source) => !source.includes('node_modules'),
  });
  edit?.(root);
  // Each demo run commits anew: the registry keeps earlier runs' images under their commit tags,
  // and a tag is never pushed twice (ECR's immutable tags).
  return { root, sha: treeSha(root, RUN) };
}

function prepend(file: string, text: string): void {
  writeFileSync(file, `${text}${readFileSync(file, 'utf8')}`);
}

async function served(url: string): Promise<string> {
  try {
    return (await (await fetch(`${url}/version`, { signal: AbortSignal.timeout(3000) })).text()).trim();
  } catch (error) {
    return `(no answer: ${error instanceof Error ? error.message : String(error)})`;
  }
}

async function main(): Promise<void> {
  const began = Date.now();
  say(bold('swarm-deploy demo: examples/client-a through its GitHub workflows, on the local lab swarm'));
  say(bold('▶ lab up (dockerd in swarm mode, registry, sshd on loopback)'));
  const lab = await labUp((line) => say(`    ${line}`));
  // The previous run's checkouts and job workspaces.
  rmSync(join(lab.dir, 'demo'), { recursive: true, force: true });
  say(bold('▶ onboarding client-a (its network; a router standing in for Traefik)'));
  await onboardClient(CLIENT);
  const router = await ensureRouter(lab);
  const repository: LabRepository = await labRepository(lab, {
    healthUrl: `${router}/health`,
    // Long enough for the router to see new tasks; short enough that the wrong-version release fails fast.
    verifyTimeout: '20s',
    onMessage: (message, edited) => {
      const embed = message.embeds[0];
      say(
        `      💬 Discord ${edited ? `edits message ${message.id}` : `posts message ${message.id}`}: ${embed?.title ?? ''}`,
      );
      // The reason of a result; the started message's description is only the run link.
      const reason =
        embed?.fields?.find((f) => /reason/i.test(f.name))?.value ??
        embed?.description?.split('\n').find((line) => !line.startsWith('['));
      if (reason) say(`         ${reason.slice(0, 160)}`);
    },
  });
  const reporter = liveReporter((line) => say(`    ${line}`));
  const base = (root: string, sha: string): Omit<RunOptions, 'workflow' | 'event'> => ({
    repository: { root, name: REPOSITORY },
    packRoot: REPO_ROOT,
    sha,
    actor: 'demo-user',
    secrets: repository.secrets,
    vars: repository.vars,
    standIns: repository.standIns,
    githubApi: { url: repository.github.url, token: repository.github.token },
    runDir: join(lab.dir, 'demo', 'runs', sha.slice(0, 12)),
    reporter,
  });
  const push = async (title: string, release: { root: string; sha: string }): Promise<WorkflowRun> => {
    say();
    say(bold(`━━ ${title} (push to main, commit ${release.sha.slice(0, 7)}) ━━`));
    const run = await runWorkflow({
      ...base(release.root, release.sha),
      workflow: join(release.root, '.github', 'workflows', 'deploy.yml'),
      event: { name: 'push', ref: 'refs/heads/main' },
    });
    page(run, title);
    return run;
  };
  const page = (run: WorkflowRun, title: string) => {
    say();
    for (const line of runPage(run, title)) say(`  ${line}`);
  };
  const status = (run: WorkflowRun) => run.jobs.find((j) => j.calls !== undefined)?.outputs.status ?? '';
  /** The commit the environment's GitHub Deployments show as active. */
  const environmentShows = () => repository.github.active('production')?.sha ?? '';
  const results: string[] = [];
  const expect = (what: string, ok: boolean, detail: string) => {
    results.push(`  ${ok ? '✓' : '✗'} ${what}: ${detail}`);
    if (!ok) process.exitCode = 1;
  };

  try {
    const good = commit(lab, 'release-good');
    const first = await push('Release 1: client-a as it is', good);
    const version1 = await served(router);
    expect(
      'release 1 deployed',
      first.conclusion === 'success' && status(first) === 'deployed' && good.sha.startsWith(version1.slice(0, 7)),
      `run ${first.conclusion}, status ${status(first)}, serving ${version1.slice(0, 7)}`,
    );

    // A second good release, so that a manual rollback has somewhere to go back to.
    const feature = commit(lab, 'release-feature', (root) =>
      prepend(join(root, 'src', 'server.js'), '// Items come back sorted by id.\n'),
    );
    const featureRun = await push('Release 2: a small change', feature);
    const version2 = await served(router);
    expect(
      'release 2 deployed',
      featureRun.conclusion === 'success' && status(featureRun) === 'deployed' && version2 === feature.sha,
      `run ${featureRun.conclusion}, status ${status(featureRun)}, serving ${version2.slice(0, 7)}`,
    );

    // A missing setting: the server exits at start, as real broken releases do.
    const crash = commit(lab, 'release-crash', (root) =>
      prepend(join(root, 'src', 'server.js'), "console.error('fatal: DATABASE_URL is not set');\nprocess.exit(3);\n"),
    );
    const second = await push('Release 3: a commit that crashes at start', crash);
    const version3 = await served(router);
    expect(
      'release 3 rolled back by Swarm',
      second.conclusion === 'failure' &&
        status(second) === 'rolled-back' &&
        version3 === feature.sha &&
        environmentShows() === feature.sha,
      `run ${second.conclusion}, status ${status(second)}, still serving ${version3.slice(0, 7)}, the environment shows ${environmentShows().slice(0, 7)}`,
    );

    // Healthy for Docker (its health check only asks for a 200), but the version it reports is
    // read from a variable the image does not set: verify-health sees the wrong version.
    const wrong = commit(lab, 'release-wrong-version', (root) => {
      const server = join(root, 'src', 'server.js');
      writeFileSync(server, readFileSync(server, 'utf8').replace('process.env.GIT_SHA', 'process.env.RELEASE_SHA'));
    });
    const third = await push('Release 4: a commit that serves the wrong version', wrong);
    const version4 = await served(router);
    const rollbackStep = third.jobs.flatMap((j) => j.steps).find((s) => s.id === 'rollback');
    expect(
      'release 4 rolled back by the workflow',
      third.conclusion === 'failure' &&
        status(third) === 'rolled-back' &&
        rollbackStep?.outcome === 'success' &&
        version4 === feature.sha &&
        environmentShows() === feature.sha,
      `run ${third.conclusion}, status ${status(third)}, rollback step ${rollbackStep?.outcome}, serving ${version4.slice(0, 7)}, the environment shows ${environmentShows().slice(0, 7)}`,
    );

    say();
    say(bold('━━ Manual rollback: client-a’s rollback workflow, "Run workflow" with version = previous ━━'));
    const manual = await runWorkflow({
      ...base(good.root, good.sha),
      runDir: join(lab.dir, 'demo', 'runs', 'manual-rollback'),
      workflow: join(good.root, '.github', 'workflows', 'rollback.yml'),
      event: { name: 'workflow_dispatch', ref: 'refs/heads/main', inputs: { version: 'previous' } },
    });
    page(manual, 'Manual rollback');
    const version5 = await served(router);
    expect(
      'manual rollback to the release before',
      manual.conclusion === 'success' &&
        status(manual) === 'rolled-back' &&
        version5 === version1 &&
        environmentShows() === good.sha,
      `run ${manual.conclusion}, status ${status(manual)}, serving ${version5.slice(0, 7)}, the environment shows ${environmentShows().slice(0, 7)}`,
    );

    say();
    say(bold('━━ Release history of client-a (kept in the swarm) ━━'));
    const history = await readHistory(new LocalRunner(), CLIENT);
    for (const r of history.slice(0, 8)) {
      say(
        `  ${r.id}  ${r.kind.padEnd(8)} ${r.verdict.padEnd(11)} ${(r.gitSha ?? '').slice(0, 7)}  ${r.reason ? r.reason.slice(0, 80) : ''}`,
      );
    }
    say();
    say(bold('━━ GitHub Deployments of the production environment (newest first) ━━'));
    for (const d of [...repository.github.deployments].reverse()) {
      const states = d.statuses.map((s) => s.state).join(' → ');
      say(
        `  #${d.id}  ${d.sha.slice(0, 7)}  ${states.padEnd(18)} ${d.statuses.at(-1)?.description.slice(0, 90) ?? ''}`,
      );
    }
    say();
    say(bold('━━ Summary ━━'));
    for (const line of results) say(line);
    const edited = [...repository.discord.messages.values()].filter((m) => m.edits > 0).length;
    say(`  Discord: ${repository.discord.messages.size} messages, ${edited} edited in place with the result`);
    say(`  took ${((Date.now() - began) / 1000).toFixed(0)}s`);
    if (process.exitCode === 1) throw new Error('a scenario did not end as expected (see ✗ above)');
  } finally {
    await repository.close();
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
