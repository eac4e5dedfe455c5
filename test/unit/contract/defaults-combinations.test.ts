import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readActionMetadata, renderInputs } from '../../../lab/runner/action-host.js';
import { readDeploySettings } from '../../../src/rollout/settings.js';
import { readOptions } from '../../../src/actions/verify-health/main.js';
import { Inputs, mapInputs } from '../../../src/core/inputs.js';

/*
 * GitHub passes every action.yml default, so a workflow that sets one input gets the defaults of
 * all the others: no default may contradict an input set alone (verify-health's `max-error-rate:
 * '0'` made every run without a window fail). Each input is set alone, with a valid value and
 * the companions its description names, on top of the rendered defaults, and read by the
 * action's own input reader. A new input without a sample here fails the test.
 */

const workspace = mkdtempSync(join(tmpdir(), 'defaults-combinations-'));
writeFileSync(join(workspace, 'stack.yml'), 'services:\n  web:\n    image: ${IMAGE}\n');
writeFileSync(join(workspace, 'other.yml'), 'services:\n  web:\n    image: ${IMAGE}\n');
writeFileSync(join(workspace, 'app.conf'), 'x=1\n');
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

type Samples = Record<string, Record<string, string>>;

const VERIFY_HEALTH: { required: Record<string, string>; samples: Samples } = {
  required: { url: 'http://127.0.0.1:8080/health' },
  samples: {
    'host-header': { 'host-header': 'app.example.com' },
    headers: { headers: 'Authorization: Bearer abc' },
    'expected-status': { 'expected-status': '200-299' },
    'expected-version': { 'expected-version': 'abc1234' },
    'expected-body': { 'expected-body': 'ok' },
    consecutive: { consecutive: '5' },
    interval: { interval: '500ms' },
    'request-timeout': { 'request-timeout': '1s' },
    timeout: { timeout: '30s' },
    warmup: { warmup: '10s' },
    window: { window: '30s' },
    // Limits of a window are given with one.
    'max-error-rate': { 'max-error-rate': '1%', window: '30s' },
    'max-p95-ms': { 'max-p95-ms': '250', window: '30s' },
  },
};

const SWARM_DEPLOY: { required: Record<string, string>; samples: Samples } = {
  required: { host: 'local', client: 'acme' },
  samples: {
    port: { port: '2222' },
    user: { user: 'ops' },
    'ssh-key': { 'ssh-key': 'not-read-for-a-local-host' },
    'ssh-key-passphrase': { 'ssh-key-passphrase': 'pass' },
    'known-hosts': { 'known-hosts': 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU' },
    via: { via: 'gate' },
    'jump-host': { 'jump-host': 'ops@bastion.example.com:2222' },
    'jump-ssh-key': { 'jump-ssh-key': 'not-read-for-a-local-host' },
    'stack-file': { 'stack-file': 'other.yml' },
    image: { image: '127.0.0.1:5000/acme/api@sha256:' + 'a'.repeat(64) },
    env: { env: 'GREETING=hello' },
    secrets: { secrets: 'api_key=value' },
    configs: { configs: 'app=app.conf' },
    registry: {
      registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      'registry-username': 'AWS',
      'registry-password': 'p',
    },
    'registry-username': { 'registry-username': 'AWS' },
    'registry-password': { 'registry-password': 'p' },
    timeout: { timeout: '5m' },
    'stuck-timeout': { 'stuck-timeout': '30s' },
    'auto-rollback': { 'auto-rollback': 'false' },
    'rollback-to': { 'rollback-to': 'previous' },
    'dry-run': { 'dry-run': 'true' },
    prune: { prune: 'true' },
    'keep-releases': { 'keep-releases': '5' },
    policy: { policy: 'warn' },
    'allow-published-ports': { 'allow-published-ports': 'true' },
    'max-replicas': { 'max-replicas': '12' },
    'default-cpus': { 'default-cpus': '1' },
    'default-memory': { 'default-memory': '1G' },
    tier: { tier: 'enterprise' },
    domain: { domain: 'api.acme.example.com', 'service-port': '8080' },
    'service-port': { 'service-port': '8080', domain: 'api.acme.example.com' },
    'routed-service': { 'routed-service': 'web' },
    entrypoint: { entrypoint: 'websecure' },
    'cert-resolver': { 'cert-resolver': 'letsencrypt' },
    lock: { lock: 'hold' },
    'lock-message': { 'lock-message': 'migration', lock: 'hold' },
    'lock-timeout': { 'lock-timeout': '1m' },
    'lock-expiry': { 'lock-expiry': '30m' },
    'git-sha': { 'git-sha': 'abcdef0' },
  },
};

/** The defaults as the runner renders them, with `given` set; then the action's reader. */
function readWith(action: string, given: Record<string, string>, reader: (inputs: Inputs) => unknown): unknown {
  const { values, warnings } = renderInputs(readActionMetadata(action), given);
  expect(warnings).toEqual([]);
  return reader(new Inputs(mapInputs(values)));
}

describe.each([
  ['actions/verify-health', VERIFY_HEALTH, (inputs: Inputs) => readOptions(inputs, () => undefined)],
  ['.', SWARM_DEPLOY, (inputs: Inputs) => readDeploySettings(inputs, { GITHUB_WORKSPACE: workspace })],
  [
    'actions/swarm-deploy',
    SWARM_DEPLOY,
    (inputs: Inputs) => readDeploySettings(inputs, { GITHUB_WORKSPACE: workspace }),
  ],
])('%s: every input set alone over the defaults', (action, table, reader) => {
  const optional = Object.entries(readActionMetadata(action).inputs)
    .filter(([, input]) => !input.required)
    .map(([name]) => name);

  test('has a sample for every optional input', () => {
    expect(optional.filter((name) => table.samples[name] === undefined)).toEqual([]);
  });

  test('the defaults alone are valid', () => {
    expect(() => readWith(action, table.required, reader)).not.toThrow();
  });

  test.each(optional.map((name) => [name]))('%s', (name) => {
    expect(() => readWith(action, { ...table.required, ...table.samples[name] }, reader)).not.toThrow();
  });
});
