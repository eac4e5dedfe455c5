import { describe, expect, test } from 'vitest';
import {
  CommandError,
  ConfigurationError,
  ConnectionError,
  ConnectionLostError,
  isNetworkError,
} from '../../../src/core/errors.js';
import { MemoryLog } from '../../support/memory-log.js';
import { Tenant } from '../../../src/core/tenant.js';
import { describeFailure } from '../../../src/core/run.js';
import { isChannelRefused, isTransportError, mayRepeat, neverSent } from '../../../src/transport/connection-loss.js';
import { serviceRollback, stackDeploy } from '../../../src/state/docker.js';
import { writeRelease, type Release } from '../../../src/state/history.js';
import { acquireLock } from '../../../src/state/lock.js';
import { ensureObjects } from '../../../src/state/objects.js';
import type { RunOptions } from '../../../src/core/exec.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';
import { service } from '../../support/swarm-fixtures.js';

/** An Error as Node's net module raises it: a message and a code. */
function socketError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('which errors mean the connection failed, not the command', () => {
  test.each([
    ['a reset read (Node)', socketError('read ECONNRESET', 'ECONNRESET'), true],
    ['a reset as text only', new Error('read ECONNRESET'), true],
    ['a write to a closed socket', socketError('write EPIPE', 'EPIPE'), true],
    ['ssh2: exec on an unwritable socket', new Error('Not connected'), true],
    ['node-ssh: no connection object', new Error('Not connected to server'), true],
    ['ssh2: channel pending when the socket closed', new Error('No response from server'), true],
    ['ssh2: the peer stopped answering keepalives', new Error('Keepalive timeout'), true],
    ['ssh2: the server refused a session', new Error('(SSH) Channel open failure: open failed'), true],
    ['ssh2: dropped during the handshake', new Error('Connection lost before handshake'), true],
    ['a docker command that failed', new CommandError('docker service inspect', 1, 'no such service'), false],
    ['bad input', new ConfigurationError('expected a duration', 'timeout'), false],
    ['a defect', new TypeError("Cannot read properties of undefined (reading 'Spec')"), false],
    ['output that is not JSON', new SyntaxError('Unexpected end of JSON input'), false],
    ['not an Error at all', 'ECONNRESET-ish string', false],
  ])('%s → %s', (_what, error, transport) => {
    expect(isTransportError(error)).toBe(transport);
  });

  test('only socket failures count as network errors for any client (HTTP too)', () => {
    expect(isNetworkError(socketError('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'))).toBe(true);
    expect(isNetworkError(new Error('Not connected'))).toBe(false);
    expect(isNetworkError(new Error('exit code 1'))).toBe(false);
  });

  test.each([
    ['Not connected', true],
    ['Not connected to server', true],
    ['(SSH) Channel open failure: open failed', true],
    ['read ECONNRESET', false],
    ['No response from server', false],
    ['Keepalive timeout', false],
  ])('"%s" proves the exec request never left: %s', (message, never) => {
    expect(neverSent(new Error(message))).toBe(never);
  });

  test('a refused session is told apart: the link is up, the request is asked again on it', () => {
    expect(isChannelRefused(new Error('(SSH) Channel open failure: open failed'))).toBe(true);
    expect(isChannelRefused(new Error('read ECONNRESET'))).toBe(false);
  });
});

describe('which commands may run again after a dropped connection', () => {
  test.each<[string, RunOptions, boolean]>([
    ['a read (no stdin)', {}, true],
    ['a read allowed to fail', { allowFailure: true }, true],
    ['a write through stdin', { stdin: 'data' }, false],
    ['a write through stdin declared idempotent', { stdin: 'data', repeatable: true }, true],
    ['a command without stdin declared not repeatable', { repeatable: false }, false],
  ])('%s → %s', (_what, options, repeat) => {
    expect(mayRepeat(options)).toBe(repeat);
  });

  /** The options each deploy command hands the runner, by the command's first words. */
  function recordingRunner() {
    const seen = new Map<string, RunOptions>();
    const runner = new ScriptedRunner();
    const record = (words: string[], answer: { stdout?: string } = {}) =>
      runner.on(words, (argv, options) => {
        seen.set(words.join(' '), options);
        return answer;
      });
    return { runner, seen, record };
  }

  test('the deploy declares its stdin writes idempotent and the rollback not repeatable', async () => {
    const { runner, seen, record } = recordingRunner();
    record(['docker', 'stack', 'deploy']);
    record(['docker', 'secret', 'ls']);
    record(['docker', 'secret', 'create']);
    record(['docker', 'config', 'create']);
    record(['docker', 'service', 'update', '--rollback']);

    await stackDeploy(runner, { stack: 'acme', composeYaml: 'services: {}\n', prune: false, withRegistryAuth: false });
    await stackDeploy(runner, {
      stack: 'acme',
      composeYaml: 'services: {}\n',
      prune: false,
      withRegistryAuth: true,
      registry: { server: 'registry.example.com', username: 'ci', password: 'pw' },
    });
    await ensureObjects(runner, new MemoryLog(), 'secret', Tenant.parse('acme'), [
      { name: 'db', versioned: 'acme_db_0123456789', content: 's3cret' },
    ]);
    await writeRelease(runner, release());
    await serviceRollback(runner, 'acme_web');

    expect(Object.fromEntries([...seen].map(([command, options]) => [command, mayRepeat(options)]))).toStrictEqual({
      // The same rendered stack deployed twice is one deploy (with its registry login: the same
      // credentials again, into a new private directory).
      'docker stack deploy': true,
      'docker secret ls': true,
      // Content-named: exists with this content or not at all.
      'docker secret create': true,
      // This run's own release name; "already exists" is checked against the content.
      'docker config create': true,
      // A second --rollback would swap the new spec back in.
      'docker service update --rollback': false,
    });
  });
});

function release(): Release {
  return {
    id: '20261123-100000-abc',
    client: 'acme',
    kind: 'deploy',
    time: '2026-11-23T10:00:00.000Z',
    verdict: 'deployed',
    images: { acme_web: 'registry.example.com/acme/web:v2' },
    replicas: { acme_web: 1 },
    secrets: {},
    configs: {},
    stack: 'services: {}\n',
  };
}

describe('writes that landed before the connection dropped are recognised, not repeated blindly', () => {
  test("the lock's repeated create finds the lock this run created: it is ours, taken without waiting", async () => {
    const runner = new ScriptedRunner();
    let stored = '';
    runner
      // The first attempt landed; the transport ran it again after reconnecting and got this answer.
      .on(['docker', 'config', 'create'], (_argv, options) => {
        stored = options.stdin ?? '';
        return { code: 1, stderr: 'Error response from daemon: config sdl.acme already exists' };
      })
      .on(['docker', 'config', 'inspect'], () => ({
        stdout: JSON.stringify([
          { ID: 'cfg-ours', CreatedAt: '2026-11-23T10:00:00Z', Spec: { Name: 'sdl.acme', Data: b64(stored) } },
        ]),
      }));
    const log = new MemoryLog();
    const lock = await acquireLock({ runner, log, client: 'acme', waitMs: 60_000, expiryMs: 900_000 });
    expect(lock.id).toBe('cfg-ours');
    expect(runner.commands()).toStrictEqual([
      'docker config create --label swarm-deploy.client=acme --label swarm-deploy.kind=lock sdl.acme -',
      'docker config inspect sdl.acme',
    ]);
    expect(log.text()).toMatch(/Took the deploy lock of acme \(confirmed after a reconnect\)/);
  });

  test("another run's lock with the same fields but another token is still waited for", async () => {
    const runner = new ScriptedRunner();
    runner
      .on(['docker', 'config', 'create'], () => ({ code: 1, stderr: 'config sdl.acme already exists' }))
      .on(['docker', 'config', 'inspect'], () => ({
        stdout: JSON.stringify([
          {
            ID: 'cfg-other',
            CreatedAt: '2026-11-23T10:00:00Z',
            Spec: {
              Name: 'sdl.acme',
              Data: b64(
                JSON.stringify({ client: 'acme', kind: 'deploy', since: 0, ttlMs: 9e12, token: 'f'.repeat(24) }),
              ),
            },
          },
        ]),
      }))
      .on(['date'], () => ({ stdout: '1795406400.000000000\n' }));
    await expect(
      acquireLock({ runner, log: new MemoryLog(), client: 'acme', waitMs: 0, expiryMs: 900_000 }),
    ).rejects.toThrow(/gave up after waiting 0s for the deploy lock of acme/);
  });

  test('a release record found with this very content after a repeat is written; other content is an error', async () => {
    const ours = JSON.stringify(release());
    for (const [content, ok] of [
      [ours, true],
      ['{"id":"someone else"}', false],
    ] as const) {
      const runner = new ScriptedRunner();
      runner
        .on(['docker', 'config', 'create'], () => ({ code: 1, stderr: 'config sdr.acme.x already exists' }))
        .on(['docker', 'config', 'inspect'], () => ({ stdout: JSON.stringify(b64(content)) }));
      const written = writeRelease(runner, release());
      if (ok) await expect(written).resolves.toBeUndefined();
      else await expect(written).rejects.toThrow(/docker config create exited with code 1: .*already exists/);
    }
  });

  test.each([
    ['the first --rollback landed (rollback_started)', 'rollback_started', 1],
    ['the first --rollback never reached Swarm (still paused)', 'paused', 2],
  ])('%s → %s rollback command(s)', async (_what, state, rollbacks) => {
    const runner = new ScriptedRunner();
    let calls = 0;
    runner
      .on(['docker', 'service', 'update', '--rollback'], () => {
        calls += 1;
        if (calls === 1) throw new ConnectionLostError('Lost the connection while `docker service update` ran', 'x');
        return {};
      })
      .on(['docker', 'service', 'inspect'], () => ({
        stdout: JSON.stringify([service('acme_web', { update: { state } })]),
      }));
    await serviceRollback(runner, 'acme_web');
    expect(runner.commands().filter((c) => c.includes('--rollback'))).toHaveLength(rollbacks);
  });
});

describe('how a connection failure reads at the end of a step', () => {
  test.each([
    [
      new ConnectionError('Lost the connection to m1:22 (read ECONNRESET) and could not reconnect within 1m0s'),
      /^Lost the connection to m1:22/,
    ],
    [
      new ConnectionLostError(
        'Lost the connection to m1:22 while `docker service update` was running',
        'docker service update',
      ),
      /^Lost the connection/,
    ],
    [socketError('read ECONNRESET', 'ECONNRESET'), /^Connection error: read ECONNRESET$/],
    [new TypeError('x is undefined'), /^Internal error: x is undefined$/],
  ])('%s', (error, message) => {
    expect(describeFailure(error, new MemoryLog())).toMatch(message);
  });
});

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}
