import { defineAction } from '../../core/action.js';
import { errorMessage } from '../../core/errors.js';
import { runLocation, runUrl } from '../../core/github.js';
import { describeFailure } from '../../core/run.js';
import { checkRecord, githubClient, recordDeployment, type DeploymentRecord } from '../../github/deployments.js';

/**
 * Records the deployment of the commit that runs. Like a notification, it reports on a deploy and
 * must not decide its fate: unless `fail-on-error` is true, anything that goes wrong (a bad input
 * included) is a warning and the step succeeds.
 */
export const action = defineAction({
  main: async ({ inputs, log, outputs, deps }) => {
    const failOnError = inputs.boolean('fail-on-error', false);
    let record: DeploymentRecord;
    let token: string | undefined;
    try {
      token = inputs.secret('token');
      record = {
        repository: inputs.required('repository'),
        environment: inputs.required('environment'),
        sha: inputs.required('sha'),
        url: inputs.optional('url'),
        description: inputs.optional('description') ?? 'Deployed by swarm-deploy',
        replaces: inputs.optional('replaces-sha'),
        logUrl: runUrl(runLocation(deps.env)),
      };
      checkRecord(record);
      if (token === undefined) throw new Error('no token: give the job `permissions: deployments: write`');
    } catch (error) {
      return fail(describeFailure(error, log));
    }

    try {
      const recorded = await recordDeployment(githubClient(token, deps.env.GITHUB_API_URL, deps.fetch), record);
      outputs.set('deployment-id', recorded.id);
      const marked =
        recorded.marked === undefined
          ? ''
          : `; deployment ${recorded.marked} of ${short(record.replaces)} marked inactive`;
      log.info(`Recorded deployment ${recorded.id} of ${short(record.sha)} in ${record.environment}${marked}`);
      await log.summary(
        `### GitHub deployment\n\n${record.environment} runs \`${short(record.sha)}\`${
          record.replaces ? ` (replacing \`${short(record.replaces)}\`)` : ''
        }.\n`,
      );
      return {};
    } catch (error) {
      return fail(`GitHub refused the deployment record: ${errorMessage(error)}`);
    }

    function fail(message: string) {
      if (failOnError) return { failure: `record-deployment: ${message}` };
      log.warning(`The deployment could not be recorded on GitHub (the deploy's result stands): ${message}`);
      return {};
    }
  },
});

function short(sha: string | undefined): string {
  return (sha ?? '').slice(0, 7);
}
