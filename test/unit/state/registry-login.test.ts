import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { LOGIN_AND_RUN, stackDeploy } from '../../../src/state/docker.js';
import { ScriptedRunner } from '../../support/scripted-runner.js';

const REGISTRY = { server: 'registry.example.com', username: 'AWS', password: 'tok3n-value' };

describe('the registry login travels with the deploy command', () => {
  test('one command: sh -c with the user and registry as arguments, the password as the first line of stdin', async () => {
    const sent: { argv: readonly string[]; stdin: string | undefined }[] = [];
    const runner = new ScriptedRunner().on(['sh', '-c'], (argv, options) => {
      sent.push({ argv, stdin: options.stdin });
      return {};
    });
    await stackDeploy(runner, {
      stack: 'acme',
      composeYaml: 'services: {}\n',
      prune: false,
      withRegistryAuth: true,
      registry: REGISTRY,
    });
    expect(sent).toEqual([
      {
        argv: [
          'sh',
          '-c',
          LOGIN_AND_RUN,
          'sh',
          'AWS',
          'registry.example.com',
          ...['docker', 'stack', 'deploy', '--compose-file', '-', '--detach=true', '--with-registry-auth', 'acme'],
        ],
        stdin: 'tok3n-value\nservices: {}\n',
      },
    ]);
    // No command holds the password, and nothing is left to remove afterwards.
    expect(runner.commands().join('\n')).not.toContain('tok3n-value');
  });

  test('without a registry the deploy runs as it is', async () => {
    const runner = new ScriptedRunner().on(['docker', 'stack', 'deploy'], () => ({}));
    await stackDeploy(runner, { stack: 'acme', composeYaml: 'x: 1\n', prune: false, withRegistryAuth: false });
    expect(runner.commands()).toEqual(['docker stack deploy --compose-file - --detach=true acme']);
  });
});

describe('LOGIN_AND_RUN, run by sh with a stand-in docker', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function run(exitCode: number) {
    dir = mkdtempSync(join(tmpdir(), 'login-and-run-'));
    const bin = join(dir, 'bin');
    const temp = join(dir, 'tmp');
    mkdirSync(bin);
    mkdirSync(temp);
    // What a job killed before this change left behind, and a fresh one of a deploy running now.
    const stale = join(temp, 'swarm-deploy-auth.OLD12345');
    mkdirSync(stale);
    writeFileSync(join(stale, 'config.json'), '{"auths":{}}');
    const old = Date.now() / 1000 - 3600;
    utimesSync(stale, old, old);
    mkdirSync(join(temp, 'swarm-deploy-auth.NOW12345'));
    writeFileSync(
      join(bin, 'docker'),
      [
        '#!/bin/sh',
        'if [ "$1" = login ]; then cat > "$DOCKER_CONFIG/config.json"; echo "login $*" >> "$LOG"; exit 0; fi',
        'echo "run $* config=$(cat "$DOCKER_CONFIG/config.json") stdin=$(cat)" >> "$LOG"',
        `exit ${exitCode}`,
      ].join('\n'),
    );
    chmodSync(join(bin, 'docker'), 0o755);
    const log = join(dir, 'log');
    const result = spawnSync(
      'sh',
      ['-c', LOGIN_AND_RUN, 'sh', 'AWS', 'registry.example.com', 'docker', 'stack', 'deploy', '-c', '-', 'acme'],
      {
        input: 'tok3n-value\nservices: {}\n',
        env: { PATH: `${bin}:${process.env.PATH ?? ''}`, TMPDIR: temp, LOG: log },
        encoding: 'utf8',
      },
    );
    return { code: result.status, log: readFileSync(log, 'utf8'), left: readdirSync(temp).sort() };
  }

  test('the deploy runs with the login and the rest of stdin; the config is gone when it ends', () => {
    const { code, log, left } = run(0);
    expect(code).toBe(0);
    expect(log).toBe(
      'login login --username AWS --password-stdin registry.example.com\n' +
        'run stack deploy -c - acme config=tok3n-value stdin=services: {}\n',
    );
    expect(left).toEqual(['swarm-deploy-auth.NOW12345']);
  });

  test('a failing deploy keeps its exit code and leaves no config behind either', () => {
    const { code, left } = run(3);
    expect(code).toBe(3);
    expect(left).toEqual(['swarm-deploy-auth.NOW12345']);
  });
});
