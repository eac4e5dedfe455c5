/**
 * aws-actions/configure-aws-credentials — the real action exchanges the job's GitHub OIDC token
 * for the `role-to-assume` role's temporary credentials (STS AssumeRoleWithWebIdentity) and
 * exports them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, masked) with
 * AWS_REGION / AWS_DEFAULT_REGION; it outputs `aws-account-id`. The stand-in checks the inputs the
 * same way, exports the lab's credentials (the only ones the lab's ECR-shaped endpoint accepts)
 * and AWS_ENDPOINT_URL_ECR pointing at that endpoint, so the AWS SDK in the steps after it talks
 * to the lab instead of AWS.
 */
import { randomBytes } from 'node:crypto';
import { LAB_ACCESS_KEY_ID } from '../../ecr-endpoint.js';
import type { StandIn } from './stand-in.js';

export function configureAwsCredentials(options: { ecrEndpoint: string }): StandIn {
  return {
    uses: 'aws-actions/configure-aws-credentials',
    async run({ with: inputs, log, mask }) {
      const region = inputs['aws-region'] ?? '';
      const role = inputs['role-to-assume'] ?? '';
      if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
        return { outcome: 'failure', failure: `Region is not valid: "${region}"` };
      }
      const arn = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/-]+$/.exec(role);
      if (!arn) {
        return {
          outcome: 'failure',
          failure:
            role === ''
              ? 'Credentials could not be loaded: role-to-assume is empty'
              : 'role-to-assume is not a role ARN',
        };
      }
      const secret = randomBytes(20).toString('base64url');
      const session = randomBytes(32).toString('base64url');
      mask(secret);
      mask(session);
      log(`Assuming role with OIDC (stand-in: the lab's credentials, the ECR API at ${options.ecrEndpoint})`);
      return {
        outcome: 'success',
        outputs: { 'aws-account-id': arn[1] ?? '' },
        env: {
          AWS_ACCESS_KEY_ID: LAB_ACCESS_KEY_ID,
          AWS_SECRET_ACCESS_KEY: secret,
          AWS_SESSION_TOKEN: session,
          AWS_REGION: region,
          AWS_DEFAULT_REGION: region,
          AWS_ENDPOINT_URL_ECR: options.ecrEndpoint,
        },
      };
    },
  };
}
