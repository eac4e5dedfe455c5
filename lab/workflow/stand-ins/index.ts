/** The stand-ins for third-party actions the lab cannot reach; docs/workflows.md lists them. */
import { amazonEcrLogin } from './amazon-ecr-login.js';
import { checkout } from './checkout.js';
import { configureAwsCredentials } from './configure-aws-credentials.js';
import { setupBuildx } from './setup-buildx.js';
import type { StandIn } from './stand-in.js';

export type { StandIn } from './stand-in.js';

export function labStandIns(options: { ecrEndpoint: string }): StandIn[] {
  return [checkout, configureAwsCredentials(options), amazonEcrLogin, setupBuildx];
}
