/**
 * Baseline: `docker stack deploy --detach=false` run on the manager over one SSH connection, the
 * stack through stdin. The docker CLI polls every 200 ms, service by service, and exits 0 when
 * every service is done, including after Swarm rolled a failed update back.
 */
import { local, sshArgv } from '../lab-access.js';

export interface CliRun {
  code: number | null;
  startedAt: number;
  returnedAt: number;
  output: string;
}

export async function dockerStackDeploy(stack: string, yaml: string, detach: boolean): Promise<CliRun> {
  const startedAt = Date.now();
  const result = await local.run(
    sshArgv(['docker', 'stack', 'deploy', '--compose-file', '-', `--detach=${String(detach)}`, stack]),
    { stdin: yaml, allowFailure: true, timeoutMs: 600_000 },
  );
  return { code: result.code, startedAt, returnedAt: Date.now(), output: `${result.stdout}${result.stderr}` };
}
