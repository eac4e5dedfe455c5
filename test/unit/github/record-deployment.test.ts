import nock from 'nock';
import { afterEach, describe, expect, test } from 'vitest';
import { runActionInProcess, stepView } from '../../support/action-harness.js';
import { action as recordDeployment } from '../../../src/actions/record-deployment/main.js';
import { checkRecord, shortDescription } from '../../../src/github/deployments.js';
import { ConfigurationError } from '../../../src/core/errors.js';

const API = 'https://api.github.example';
const TOKEN = 'ghs_unitTestToken0123456789';
const RUNNING = 'a'.repeat(40);
const REPLACED = 'b'.repeat(40);
const github = {
  repository: 'acme-org/client-a',
  serverUrl: 'https://github.com',
  runId: '4242',
  token: TOKEN,
  apiUrl: API,
};

/** The action as the runner runs it: every action.yml default applied (the token from `github.token`), HTTP through nock. */
async function step(values: Record<string, string>, context: Partial<typeof github> = {}) {
  const view = stepView(
    await runActionInProcess({
      action: 'actions/record-deployment',
      with: values,
      github: { ...github, ...context },
      run: () => recordDeployment.main(),
    }),
  );
  const everything = [view.log.text(), view.failure ?? '', JSON.stringify([...view.outputs])].join('\n');
  expect(everything).not.toContain(TOKEN);
  expect(view.result.leaks).toEqual([]);
  return view;
}

afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

describe('record-deployment', () => {
  test('records a successful deployment of the running commit and marks the replaced one inactive', async () => {
    const calls: { path: string; body: Record<string, unknown>; auth: string | undefined }[] = [];
    const keep = function (this: { req: { headers: Record<string, string> } }, path: string, body: object) {
      calls.push({ path, body: body as Record<string, unknown>, auth: this.req.headers.authorization });
    };
    nock(API)
      .post('/repos/acme-org/client-a/deployments')
      .reply(201, function (path, body) {
        keep.call(this, path, body as object);
        return { id: 91, sha: RUNNING };
      })
      .post('/repos/acme-org/client-a/deployments/91/statuses')
      .reply(201, function (path, body) {
        keep.call(this, path, body as object);
        return { id: 1, state: 'success' };
      })
      .get('/repos/acme-org/client-a/deployments')
      .query({ sha: REPLACED, environment: 'production', per_page: '1' })
      .reply(200, [{ id: 77, sha: REPLACED }])
      .post('/repos/acme-org/client-a/deployments/77/statuses')
      .reply(201, function (path, body) {
        keep.call(this, path, body as object);
        return { id: 2, state: 'inactive' };
      });
    const result = await step({
      environment: 'production',
      sha: RUNNING,
      'replaces-sha': REPLACED,
      url: 'https://api.client-a.example.com',
      description: 'Rolled back to previous.',
    });
    expect(result.failure).toBeUndefined();
    expect(result.outputs.get('deployment-id')).toBe('91');
    expect(calls.map((c) => c.auth)).toEqual([`token ${TOKEN}`, `token ${TOKEN}`, `token ${TOKEN}`]);
    expect(calls[0]?.body).toMatchObject({
      ref: RUNNING,
      environment: 'production',
      auto_merge: false,
      required_contexts: [],
      transient_environment: false,
    });
    expect(calls[1]?.body).toMatchObject({
      state: 'success',
      environment_url: 'https://api.client-a.example.com',
      log_url: 'https://github.com/acme-org/client-a/actions/runs/4242',
    });
    expect(calls[2]?.body).toMatchObject({ state: 'inactive' });
    expect(String(calls[2]?.body.description)).toContain('aaaaaaa runs instead');
    expect(result.log.text()).toContain(
      'Recorded deployment 91 of aaaaaaa in production; deployment 77 of bbbbbbb marked inactive',
    );
  });

  test('a commit with no deployment to mark records the new one only', async () => {
    nock(API)
      .post('/repos/acme-org/client-a/deployments')
      .reply(201, { id: 5 })
      .post('/repos/acme-org/client-a/deployments/5/statuses')
      .reply(201, { id: 1 })
      .get('/repos/acme-org/client-a/deployments')
      .query(true)
      .reply(200, []);
    const result = await step({ environment: 'production', sha: RUNNING, 'replaces-sha': REPLACED });
    expect(result.failure).toBeUndefined();
    expect(result.outputs.get('deployment-id')).toBe('5');
  });

  test("GitHub's refusal is a warning by default and a failure with fail-on-error, the token never shown", async () => {
    nock(API).post('/repos/acme-org/client-a/deployments').times(2).reply(403, {
      message: 'Resource not accessible by integration',
    });
    const warned = await step({ environment: 'production', sha: RUNNING });
    expect(warned.failure).toBeUndefined();
    expect(warned.log.text()).toMatch(/warning.*could not be recorded.*Resource not accessible/s);
    const failed = await step({ environment: 'production', sha: RUNNING, 'fail-on-error': 'true' });
    expect(failed.failure).toMatch(
      /^record-deployment: GitHub refused the deployment record: .*Resource not accessible/,
    );
  });

  test('bad inputs are named and nothing is sent', async () => {
    const short = await step({ environment: 'production', sha: 'abc1234', 'fail-on-error': 'true' });
    expect(short.failure).toContain('Input "sha": "abc1234" is not a full 40-character commit SHA');
    const missing = await step({ environment: 'production', sha: '', 'fail-on-error': 'true' });
    expect(missing.failure).toContain('Input "sha": is required');
    const noToken = await step({ environment: 'production', sha: RUNNING, 'fail-on-error': 'true' }, { token: '' });
    expect(noToken.failure).toContain('no token');
    const repository = await step({
      environment: 'production',
      sha: RUNNING,
      repository: 'not a repo',
      'fail-on-error': 'true',
    });
    expect(repository.failure).toContain('Input "repository"');
  });
});

describe('deployment records', () => {
  test('checks each field before any request', () => {
    const good = { repository: 'o/r', environment: 'production', sha: RUNNING, description: 'x' };
    expect(() => checkRecord(good)).not.toThrow();
    expect(() => checkRecord({ ...good, sha: RUNNING.toUpperCase() })).toThrow(ConfigurationError);
    expect(() => checkRecord({ ...good, replaces: 'main' })).toThrow(/replaces|40-character/);
    expect(() => checkRecord({ ...good, environment: ' ' })).toThrow(/environment/);
    expect(() => checkRecord({ ...good, repository: 'o/r/extra' })).toThrow(/owner\/name/);
  });

  test('descriptions are cut to the 140 characters GitHub keeps', () => {
    expect(shortDescription('short')).toBe('short');
    const long = shortDescription('x'.repeat(300));
    expect(long).toHaveLength(140);
    expect(long.endsWith('…')).toBe(true);
  });
});
