/**
 * What a rollout is asked to do, one kind at a time: deploy a stack file, roll back to a recorded
 * release, or scale a service of the current release. Each kind carries only what it needs, on top
 * of the settings every rollout shares; the connection is not part of a request. The action and the
 * CLI build requests with the builders here; the planners (rollout/deploy.ts, rollout/scale.ts) turn
 * each kind into the one plan the executor runs.
 */
import type { PolicySettings } from '../compose/policy.js';
import type { StackFileReader } from '../compose/stack-files.js';
import { ConfigurationError } from '../core/errors.js';
import type { Tenant } from '../core/tenant.js';
import type { ScaleTarget } from './scale.js';

/** What every rollout shares. */
export interface RolloutSettings {
  tenant: Tenant;
  registry?: { server: string; username: string; password: string } | undefined;
  timeoutMs: number;
  autoRollback: boolean;
  dryRun: boolean;
  /** Remove the services the deployed stack no longer has. */
  prune: boolean;
  keepReleases: number;
  gitSha?: string | undefined;
  runUrl?: string | undefined;
  actor?: string | undefined;
  lockWaitMs: number;
  /** How long the lock survives a runner that never releases it. */
  lockExpiryMs?: number | undefined;
  stuckMs?: number | undefined;
  /** Use `docker events` to drive the watch (polling only when false). */
  useEvents?: boolean | undefined;
  /** The cluster policy: a deploy's stack is judged by it, and so is a recorded stack deployed again. */
  policy: PolicySettings;
}

/** The stack file and what it is rendered with. */
export interface DeployStack {
  stackFile: string;
  stackText: string;
  image?: string | undefined;
  env: ReadonlyMap<string, string>;
  /** Logical secret name → value. */
  secrets: ReadonlyMap<string, string>;
  /** Logical config name → content (files from the repository). */
  configs: ReadonlyMap<string, string>;
  /** Reads the files the stack refers to (`env_file`, `configs.<key>.file`) from the repository. */
  readFile?: StackFileReader | undefined;
}

export interface DeployRequest extends RolloutSettings, DeployStack {
  kind: 'deploy';
}

export interface RollbackRequest extends RolloutSettings {
  kind: 'rollback';
  /** `previous`, a release id, a git sha or an image tag. */
  to: string;
}

export interface ScaleRequest extends RolloutSettings {
  kind: 'scale';
  target: ScaleTarget;
}

export type RolloutRequest = DeployRequest | RollbackRequest | ScaleRequest;

export function deployRequest(settings: RolloutSettings, stack: DeployStack): DeployRequest {
  return { ...settings, ...stack, kind: 'deploy' };
}

const ROLLBACK_TARGET = /^(previous|\d{8}-\d{6}-[0-9a-f]{3}|[0-9a-f]{7,40}|[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/;

/** What a rollback may name; it ends up in a filter over the release history. */
export function checkRollbackTarget(to: string): string {
  if (!ROLLBACK_TARGET.test(to)) {
    throw new ConfigurationError(
      'expected previous, a release id (20261123-034512-a1b), a git sha or an image tag',
      'rollback-to',
    );
  }
  return to;
}

export function rollbackRequest(settings: RolloutSettings, to: string): RollbackRequest {
  return { ...settings, kind: 'rollback', to: checkRollbackTarget(to) };
}

export function scaleRequest(settings: RolloutSettings, target: ScaleTarget): ScaleRequest {
  return { ...settings, kind: 'scale', target };
}
