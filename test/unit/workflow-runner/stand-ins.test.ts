import { describe, expect, it } from 'vitest';
import { LAB_ACCESS_KEY_ID } from '../../../lab/ecr-endpoint.js';
import { configureAwsCredentials } from '../../../lab/workflow/stand-ins/configure-aws-credentials.js';
import type { StandInContext } from '../../../lab/workflow/stand-ins/stand-in.js';

function context(inputs: Record<string, string>) {
  const masked: string[] = [];
  const log: string[] = [];
  const ctx: StandInContext = {
    with: inputs,
    env: {},
    workspace: '/nonexistent',
    repository: { root: '/nonexistent', name: 'example/repo' },
    sha: 'a'.repeat(40),
    log: (line) => log.push(line),
    mask: (value) => masked.push(value),
  };
  return { ctx, masked, log };
}

describe('the stand-in for aws-actions/configure-aws-credentials', () => {
  const standIn = configureAwsCredentials({ ecrEndpoint: 'http://127.0.0.1:9' });

  it('exports masked lab credentials, the region and the lab ECR endpoint; outputs the account', async () => {
    const { ctx, masked } = context({
      'role-to-assume': 'arn:aws:iam::123456789012:role/client-deploy',
      'aws-region': 'eu-west-1',
    });
    const result = await standIn.run(ctx);
    expect(result.outcome).toBe('success');
    expect(result.outputs).toEqual({ 'aws-account-id': '123456789012' });
    expect(result.env).toMatchObject({
      AWS_ACCESS_KEY_ID: LAB_ACCESS_KEY_ID,
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_ECR: 'http://127.0.0.1:9',
    });
    expect(masked).toEqual([result.env?.AWS_SECRET_ACCESS_KEY, result.env?.AWS_SESSION_TOKEN]);
  });

  it.each([
    [
      'an empty role (an unset AWS_ROLE_ARN secret)',
      { 'role-to-assume': '', 'aws-region': 'eu-west-1' },
      /role-to-assume is empty/,
    ],
    ['a role that is not an ARN', { 'role-to-assume': 'client-deploy', 'aws-region': 'eu-west-1' }, /not a role ARN/],
    [
      'a region that does not exist',
      { 'role-to-assume': 'arn:aws:iam::123456789012:role/x', 'aws-region': 'moon' },
      /Region is not valid/,
    ],
  ])('fails on %s, as the real action does, exporting nothing', async (_label, inputs, message) => {
    const result = await standIn.run(context(inputs).ctx);
    expect(result.outcome).toBe('failure');
    expect(result.failure).toMatch(message);
    expect(result.env).toBeUndefined();
  });
});
