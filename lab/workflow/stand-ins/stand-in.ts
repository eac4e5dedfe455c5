/**
 * A stand-in for a third-party action the lab cannot reach (GitHub, AWS): a small module giving
 * the outputs and environment the real action gives, against the lab instead.
 */
export interface StandInContext {
  with: Record<string, string>;
  /** The step's environment (the job's env, GITHUB_ENV additions, the step's env). */
  env: Record<string, string>;
  workspace: string;
  /** The repository the workflow belongs to: what actions/checkout would check out. */
  repository: { root: string; name: string };
  sha: string;
  log(line: string): void;
  /** `::add-mask::` for the rest of the run. */
  mask(value: string): void;
}

export interface StandInResult {
  outcome: 'success' | 'failure';
  outputs?: Record<string, string>;
  /** Variables exported to the following steps (GITHUB_ENV). */
  env?: Record<string, string>;
  failure?: string;
}

export interface StandIn {
  /** `owner/name` as written in `uses:`, without the ref. */
  uses: string;
  run(context: StandInContext): Promise<StandInResult>;
}
