/** What a step knows of its workflow run, from the runner's GITHUB_* variables. */
export interface RunLocation {
  serverUrl?: string | undefined;
  repository?: string | undefined;
  runId?: string | undefined;
  runAttempt?: string | undefined;
}

/** The run's location from the runner's environment. */
export function runLocation(env: NodeJS.ProcessEnv): RunLocation {
  return {
    serverUrl: env.GITHUB_SERVER_URL,
    repository: env.GITHUB_REPOSITORY,
    runId: env.GITHUB_RUN_ID,
    runAttempt: env.GITHUB_RUN_ATTEMPT,
  };
}

/** The run's page: `${server}/${repo}/actions/runs/${id}` (the attempt when it is a re-run). */
export function runUrl(run: RunLocation): string | undefined {
  if (!run.serverUrl || !run.repository || !run.runId) return undefined;
  const base = `${run.serverUrl}/${run.repository}/actions/runs/${run.runId}`;
  return run.runAttempt && run.runAttempt !== '1' ? `${base}/attempts/${run.runAttempt}` : base;
}
