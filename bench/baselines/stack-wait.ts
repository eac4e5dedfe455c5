/**
 * Baseline: a poller that behaves like the widely used docker-stack-wait script. It lists the
 * stack's services, then every 5 s asks each service for each field with its own
 * `docker service inspect --format` command, and each command is its own SSH connection (as
 * `DOCKER_HOST=ssh://…` gives). It never looks at tasks, and it gives up as soon as a rollback
 * starts (it does not wait to learn whether the rollback finished).
 */
import { local, sshArgv } from '../lab-access.js';

export interface StackWaitResult {
  verdict: 'completed' | 'failed' | 'timeout';
  /** When the poller decided, local wall clock (ms). */
  returnedAt: number;
  connections: number;
  polls: number;
  message: string;
}

const POLL_MS = 5000;

export async function stackWait(stack: string, timeoutMs = 600_000): Promise<StackWaitResult> {
  let connections = 0;
  const remote = async (argv: string[]) => {
    connections += 1;
    return (await local.run(sshArgv(argv), { allowFailure: true, timeoutMs: 30_000 })).stdout.trim();
  };
  const started = Date.now();
  const services = (
    await remote([
      'docker',
      'service',
      'ls',
      '--filter',
      `label=com.docker.stack.namespace=${stack}`,
      '--format',
      '{{.Name}}',
    ])
  )
    .split('\n')
    .filter(Boolean);
  let polls = 0;
  for (;;) {
    polls += 1;
    let done = true;
    for (const service of services) {
      const state = await remote([
        'docker',
        'service',
        'inspect',
        '--format',
        '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{else}}none{{end}}',
        service,
      ]);
      const message = await remote([
        'docker',
        'service',
        'inspect',
        '--format',
        '{{if .UpdateStatus}}{{.UpdateStatus.Message}}{{end}}',
        service,
      ]);
      if (['paused', 'rollback_started', 'rollback_paused', 'rollback_completed'].includes(state)) {
        return { verdict: 'failed', returnedAt: Date.now(), connections, polls, message: `${service}: ${message}` };
      }
      if (state !== 'completed' && state !== 'none') done = false;
    }
    if (done) return { verdict: 'completed', returnedAt: Date.now(), connections, polls, message: '' };
    if (Date.now() - started > timeoutMs)
      return { verdict: 'timeout', returnedAt: Date.now(), connections, polls, message: '' };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
