import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkflowError } from '../../../lab/workflow/errors.js';
import { checkout } from '../../../lab/workflow/stand-ins/checkout.js';
import { runWorkflow, type JobRun, type RunOptions, type WorkflowRun } from '../../../lab/workflow/run.js';

/*
 * The local workflow runner on workflows of `run:` steps only: no Docker, no network. Each test
 * writes a small repository (its workflows, and a reusable workflow of its own under ./) and
 * runs it as GitHub would.
 */

const root = mkdtempSync(join(tmpdir(), 'wf-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

function repository(files: Record<string, string>): string {
  const dir = join(root, `repo-${counter++}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

async function run(
  files: Record<string, string>,
  options: Partial<RunOptions> = {},
  workflow = '.github/workflows/main.yml',
): Promise<WorkflowRun> {
  const dir = repository(files);
  return runWorkflow({
    workflow: join(dir, workflow),
    repository: { root: dir, name: 'example/repo' },
    packRoot: dir,
    event: { name: 'push' },
    sha: 'a'.repeat(40),
    runDir: `${dir}-run`,
    ...options,
  });
}

function job(result: WorkflowRun, id: string): JobRun {
  const found = result.jobs.find((j) => j.id === id);
  if (!found) throw new Error(`no job ${id} in ${result.jobs.map((j) => j.id).join(', ')}`);
  return found;
}

function outcomes(j: JobRun): string[] {
  return j.steps.map((s) => `${s.name}:${s.outcome}/${s.conclusion}`);
}

const onPush = 'on: push\n';

describe('steps: outputs, env, expressions', () => {
  it('passes step outputs, env at every level and GITHUB_ENV to later steps; job outputs to needs', async () => {
    const result = await run({
      '.github/workflows/main.yml': `${onPush}env:
  LEVEL: workflow
  FROM_WORKFLOW: w
jobs:
  first:
    runs-on: ubuntu-latest
    env:
      LEVEL: job
    outputs:
      greeting: \${{ steps.make.outputs.greeting }}
      joined: \${{ format('{0}-{1}', steps.make.outputs.greeting, env.LEVEL) }}
    steps:
      - id: make
        env:
          LEVEL: step
        run: |
          echo "greeting=hello $LEVEL $FROM_WORKFLOW" >> "$GITHUB_OUTPUT"
          { echo 'multi<<EOF'; echo one; echo two; echo EOF; } >> "$GITHUB_OUTPUT"
          echo "LATER=from-env-file" >> "$GITHUB_ENV"
      - id: read
        env:
          MULTI: \${{ steps.make.outputs.multi }}
        run: |
          echo "later=$LATER level=$LEVEL" >> "$GITHUB_OUTPUT"
          printf 'multi=%s\\n' "$(printf '%s' "$MULTI" | tr '\\n' '+')" >> "$GITHUB_OUTPUT"
  second:
    needs: first
    runs-on: ubuntu-latest
    steps:
      - id: got
        run: echo "value=\${{ needs.first.outputs.greeting }}/\${{ needs.first.result }}" >> "$GITHUB_OUTPUT"
    outputs:
      value: \${{ steps.got.outputs.value }}
`,
    });
    expect(result.conclusion).toBe('success');
    const first = job(result, 'first');
    expect(first.outputs).toEqual({ greeting: 'hello step w', joined: 'hello step w-job' });
    expect(first.steps[1]?.outputs).toEqual({ later: 'from-env-file level=job', multi: 'one+two' });
    expect(job(result, 'second').outputs).toEqual({ value: 'hello step w/success' });
  });

  it('runs run: steps with bash -eo pipefail: a failing command in a pipeline fails the step', async () => {
    const result = await run({
      '.github/workflows/main.yml': `${onPush}jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: false | cat; echo not reached
      - run: echo never
`,
    });
    const a = job(result, 'a');
    expect(outcomes(a)).toEqual([
      'Run false | cat; echo not reached:failure/failure',
      'Run echo never:skipped/skipped',
    ]);
    expect(a.steps[0]?.log.join('\n')).not.toContain('not reached');
    expect(result.conclusion).toBe('failure');
  });

  it('applies defaults.run working-directory and step working-directory', async () => {
    const result = await run({
      '.github/workflows/main.yml': `${onPush}defaults:
  run:
    shell: bash
    working-directory: sub
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir -p deeper && basename "$PWD" > /dev/null
        working-directory: .
      - id: where
        run: echo "dir=$(basename "$PWD")" >> "$GITHUB_OUTPUT"
        working-directory: deeper
`,
      placeholder: '',
    });
    // A step's working-directory overrides defaults.run's (sub does not exist in the workspace).
    expect(job(result, 'a').steps[0]?.outcome).toBe('success');
    expect(job(result, 'a').steps[1]?.outputs).toEqual({ dir: 'deeper' });
  });
});

describe('if: with the status functions, outcome and conclusion, continue-on-error', () => {
  it('runs failure() and always() steps after a failure, skips success() ones; job.status follows', async () => {
    const result = await run({
      '.github/workflows/main.yml': `${onPush}jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - id: tolerated
        continue-on-error: true
        run: exit 3
      - id: after-tolerated
        run: echo "status=\${{ job.status }} outcome=\${{ steps.tolerated.outcome }} conclusion=\${{ steps.tolerated.conclusion }}" >> "$GITHUB_OUTPUT"
      - id: broken
        run: exit 1
      - id: normal
        run: echo should not run
      - id: on-failure
        if: failure() && steps.broken.outcome == 'failure'
        run: echo "status=\${{ job.status }}" >> "$GITHUB_OUTPUT"
      - id: always
        if: always()
        run: echo "normal=\${{ steps.normal.outcome }}" >> "$GITHUB_OUTPUT"
      - id: success-only
        if: \${{ success() }}
        run: echo no
      - id: cancelled-only
        if: cancelled()
        run: echo no
`,
    });
    const a = job(result, 'a');
    expect(a.steps.map((s) => [s.id, s.outcome, s.conclusion])).toEqual([
      ['tolerated', 'failure', 'success'],
      ['after-tolerated', 'success', 'success'],
      ['broken', 'failure', 'failure'],
      ['normal', 'skipped', 'skipped'],
      ['on-failure', 'success', 'success'],
      ['always', 'success', 'success'],
      ['success-only', 'skipped', 'skipped'],
      ['cancelled-only', 'skipped', 'skipped'],
    ]);
    expect(a.steps[1]?.outputs).toEqual({ status: 'success outcome=failure conclusion=success' });
    expect(a.steps[4]?.outputs).toEqual({ status: 'failure' });
    expect(a.steps[5]?.outputs).toEqual({ normal: 'skipped' });
    expect(a.result).toBe('failure');
  });

  it('takes continue-on-error from an expression', async () => {
    const result = await run(
      {
        '.github/workflows/main.yml': `${onPush}jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - continue-on-error: \${{ vars.TOLERATE == 'yes' }}
        run: exit 1
`,
      },
      { vars: { TOLERATE: 'yes' } },
    );
    expect(result.conclusion).toBe('success');
    expect(job(result, 'a').steps[0]?.conclusion).toBe('success');
  });
});

describe('jobs and needs', () => {
  const workflow = `${onPush}jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: exit \${{ vars.BUILD_EXIT }}
  test:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: echo test
  deploy:
    needs: [test]
    runs-on: ubuntu-latest
    steps:
      - run: echo deploy
  report-failure:
    needs: deploy
    if: failure()
    runs-on: ubuntu-latest
    steps:
      - run: echo report
  always:
    needs: [build, deploy]
    if: always()
    runs-on: ubuntu-latest
    steps:
      - id: results
        run: echo "seen=\${{ needs.build.result }},\${{ needs.deploy.result }}" >> "$GITHUB_OUTPUT"
    outputs:
      seen: \${{ steps.results.outputs.seen }}
`;

  it('runs in needs order; a job whose needs failed is skipped unless its if: says otherwise', async () => {
    const result = await run({ '.github/workflows/main.yml': workflow }, { vars: { BUILD_EXIT: '1' } });
    expect(result.jobs.map((j) => [j.id, j.result])).toEqual([
      ['build', 'failure'],
      ['test', 'skipped'],
      ['deploy', 'skipped'],
      ['report-failure', 'success'],
      ['always', 'success'],
    ]);
    expect(job(result, 'always').outputs).toEqual({ seen: 'failure,skipped' });
  });

  it('skips the failure() job when everything succeeded', async () => {
    const result = await run({ '.github/workflows/main.yml': workflow }, { vars: { BUILD_EXIT: '0' } });
    expect(result.jobs.map((j) => [j.id, j.result])).toEqual([
      ['build', 'success'],
      ['test', 'success'],
      ['deploy', 'success'],
      ['report-failure', 'skipped'],
      ['always', 'success'],
    ]);
    expect(result.conclusion).toBe('success');
  });
});

describe('reusable workflows (workflow_call) and workflow_dispatch', () => {
  const called = `on:
  workflow_call:
    inputs:
      name:
        type: string
        required: true
      count:
        type: number
        default: 3
      loud:
        type: boolean
        default: false
    secrets:
      TOKEN:
        required: true
      OPTIONAL:
        required: false
    outputs:
      message:
        value: \${{ jobs.work.outputs.message }}
jobs:
  work:
    name: Work
    runs-on: ubuntu-latest
    outputs:
      message: \${{ steps.say.outputs.message }}
    steps:
      - id: say
        env:
          TOKEN: \${{ secrets.TOKEN }}
        run: |
          echo "token is $TOKEN"
          echo "message=\${{ inputs.name }} x\${{ inputs.count }} loud=\${{ inputs.loud }} optional=[\${{ secrets.OPTIONAL }}] typed=\${{ inputs.count > 2 }}" >> "$GITHUB_OUTPUT"
`;
  const caller = (withLines: string, secrets: string) => `on:
  workflow_dispatch:
    inputs:
      who:
        type: string
        required: true
        default: world
      flag:
        type: boolean
        default: false
jobs:
  call:
    uses: ./.github/workflows/called.yml
    with:
${withLines}
    secrets:
${secrets}
  after:
    needs: call
    runs-on: ubuntu-latest
    steps:
      - id: got
        run: echo "message=\${{ needs.call.outputs.message }}" >> "$GITHUB_OUTPUT"
    outputs:
      message: \${{ steps.got.outputs.message }}
`;

  it('applies input defaults and types, passes secrets (masked), returns outputs', async () => {
    const result = await run(
      {
        '.github/workflows/called.yml': called,
        '.github/workflows/main.yml': caller(
          '      name: ${{ inputs.who }}\n      loud: ${{ inputs.flag }}',
          '      TOKEN: ${{ secrets.MY_TOKEN }}',
        ),
      },
      { event: { name: 'workflow_dispatch', inputs: { flag: 'true' } }, secrets: { MY_TOKEN: 's3cr3t-value' } },
    );
    expect(result.conclusion).toBe('success');
    const work = job(result, 'call/work');
    expect(work.name).toBe('call / Work');
    expect(work.steps[0]?.log).toContain('token is ***');
    expect(job(result, 'after').outputs).toEqual({ message: 'world x3 loud=true optional=[] typed=true' });
  });

  it.each([
    ['a missing required input', '      count: 1', '      TOKEN: x', /input "?name"? .*required/i],
    [
      'a string for a number input',
      "      name: a\n      count: '3'",
      '      TOKEN: x',
      /input "count".* must be a number/,
    ],
    ['a missing required secret', '      name: a', '      OPTIONAL: x', /(secret "TOKEN".*required|TOKEN)/],
  ])('refuses %s before anything runs', async (_label, withLines, secrets, message) => {
    await expect(
      run(
        { '.github/workflows/called.yml': called, '.github/workflows/main.yml': caller(withLines, secrets) },
        { event: { name: 'workflow_dispatch' } },
      ),
    ).rejects.toThrow(message);
  });

  it('refuses a dispatch input the workflow does not declare, and a bad boolean', async () => {
    const files = {
      '.github/workflows/called.yml': called,
      '.github/workflows/main.yml': caller('      name: a', '      TOKEN: x'),
    };
    await expect(run(files, { event: { name: 'workflow_dispatch', inputs: { colour: 'blue' } } })).rejects.toThrow(
      /no input "colour"/,
    );
    await expect(run(files, { event: { name: 'workflow_dispatch', inputs: { flag: 'yes' } } })).rejects.toThrow(
      /"flag" must be true or false/,
    );
  });
});

describe('masks', () => {
  it('masks secrets from the start and ::add-mask:: values from their line on', async () => {
    const result = await run(
      {
        '.github/workflows/main.yml': `${onPush}jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "before: generated-value-123"
          echo "::add-mask::generated-value-123"
          echo "after: generated-value-123"
          echo "secret: \${{ secrets.API_KEY }}"
      - run: |
          echo "next step: generated-value-123"
`,
      },
      { secrets: { API_KEY: 'key-abcdef' } },
    );
    const a = job(result, 'a');
    expect(a.steps[0]?.log).toEqual(['before: generated-value-123', 'after: ***', 'secret: ***']);
    expect(a.steps[1]?.log).toEqual(['next step: ***']);
  });

  it('drops a job output holding a masked value, as GitHub does', async () => {
    const result = await run(
      {
        '.github/workflows/main.yml': `${onPush}jobs:
  a:
    runs-on: ubuntu-latest
    outputs:
      leaked: \${{ steps.s.outputs.value }}
    steps:
      - id: s
        run: echo "value=\${{ secrets.API_KEY }}" >> "$GITHUB_OUTPUT"
`,
      },
      { secrets: { API_KEY: 'key-abcdef' } },
    );
    expect(job(result, 'a').outputs).toEqual({ leaked: '' });
  });
});

describe("runs-on from a caller's input", () => {
  // As the pack's reusable workflows read it: one label, or a JSON list of labels.
  const called = `on:
  workflow_call:
    inputs:
      runs-on:
        type: string
        default: ubuntu-latest
jobs:
  work:
    runs-on: \${{ startsWith(inputs.runs-on, '[') && fromJSON(inputs.runs-on) || inputs.runs-on }}
    steps:
      - run: echo ran
`;
  const callWith = (runsOn: string | undefined) =>
    `${onPush}jobs:\n  call:\n    uses: ./.github/workflows/called.yml\n` +
    (runsOn === undefined ? '' : `    with:\n      runs-on: '${runsOn}'\n`);

  it.each([
    ['the default, ubuntu-latest', undefined, 'ubuntu-latest'],
    ['another ubuntu label', 'ubuntu-24.04', 'ubuntu-24.04'],
    ['self-hosted labels as a JSON list', '["self-hosted", "Linux", "X64"]', ['self-hosted', 'Linux', 'X64']],
  ])('runs the job here for %s, and shows the labels', async (_label, runsOn, shown) => {
    const result = await run({
      '.github/workflows/called.yml': called,
      '.github/workflows/main.yml': callWith(runsOn),
    });
    expect(result.conclusion).toBe('success');
    expect(job(result, 'call/work').shown['runs-on']).toEqual(shown);
  });

  it.each([
    ['a label this machine is not', 'windows-latest', /called\.yml:9: runs-on: windows-latest is not supported/],
    [
      'a self-hosted label this machine does not have',
      '["self-hosted", "gpu"]',
      /runs-on: \["self-hosted","gpu"\] is not supported/,
    ],
  ])('refuses %s, naming what was asked for', async (_label, runsOn, message) => {
    const error = await run({
      '.github/workflows/called.yml': called,
      '.github/workflows/main.yml': callWith(runsOn),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('loud refusals, naming the key and the file:line', () => {
  it.each([
    [
      'strategy.matrix',
      `${onPush}jobs:\n  a:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        node: [20, 24]\n    steps:\n      - run: echo\n`,
      /main\.yml:6: strategy\.matrix is not supported/,
    ],
    [
      'a step key it does not implement',
      `${onPush}jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n        timeout-minutes: 5\n`,
      /main\.yml:7: steps\[\*\]\.timeout-minutes is not supported/,
    ],
    [
      'a shell other than bash',
      `${onPush}jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n        shell: pwsh\n`,
      /main\.yml:7: shell: pwsh/,
    ],
    [
      'a runner other than ubuntu',
      `${onPush}jobs:\n  a:\n    runs-on: windows-latest\n    steps:\n      - run: echo\n`,
      /main\.yml:4: runs-on: windows-latest/,
    ],
    [
      'an event it does not implement',
      `on:\n  schedule:\n    - cron: '0 0 * * *'\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n`,
      /main\.yml:2: on: schedule/,
    ],
    [
      'a third-party action without a stand-in',
      `${onPush}jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo first\n      - uses: some-org/some-action@v1\n`,
      /main\.yml:7: uses: some-org\/some-action@v1 is neither/,
    ],
    [
      "a mistake GitHub's parser reports",
      `${onPush}jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \${{ nosuch.value }}\n`,
      /Unrecognized named-value: 'nosuch'/,
    ],
  ])('refuses %s', async (_label, content, message) => {
    const error = await run({ '.github/workflows/main.yml': content }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowError);
    expect((error as Error).message).toMatch(message);
  });

  it('refuses a push to a branch the workflow does not run on', async () => {
    await expect(
      run(
        {
          '.github/workflows/main.yml':
            'on:\n  push:\n    branches: [main]\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n',
        },
        { event: { name: 'push', ref: 'refs/heads/feature' } },
      ),
    ).rejects.toThrow(/push to feature does not trigger it/);
  });
});

describe('action steps (./ actions of the repository, through the harness)', () => {
  const action = (name: string, postIf?: string) => ({
    [`actions/${name}/action.yml`]: `name: ${name}
inputs:
  who:
    default: nobody
runs:
  using: node24
  main: main.js
  post: post.js
${postIf ? `  post-if: ${postIf}\n` : ''}`,
    [`actions/${name}/main.js`]: `const fs = require('node:fs');
fs.appendFileSync(process.env.GITHUB_OUTPUT, 'greeting=${name} greets ' + process.env.INPUT_WHO + '\\n');
fs.appendFileSync(process.env.GITHUB_STATE, 'started=${name}\\n');
console.log('main of ${name}');
`,
    [`actions/${name}/post.js`]: `console.log('post of ' + process.env.STATE_started);\n`,
  });

  it('applies input defaults, passes outputs, runs post steps last in reverse order under their post-if', async () => {
    const result = await run(
      {
        ...action('first'),
        ...action('second'),
        ...action('third', 'failure()'),
        '.github/workflows/main.yml': `${onPush}jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: one
        uses: ./actions/first
      - id: two
        uses: ./actions/second
        with:
          who: \${{ steps.one.outputs.greeting }}
      - uses: ./actions/third
      - run: echo done
`,
      },
      { standIns: [checkout] },
    );
    const a = job(result, 'a');
    expect(a.steps.map((s) => [s.name, s.conclusion])).toEqual([
      ['Run actions/checkout@v4', 'success'],
      ['Run ./actions/first', 'success'],
      ['Run ./actions/second', 'success'],
      ['Run ./actions/third', 'success'],
      ['Run echo done', 'success'],
      ['Post Run ./actions/third', 'skipped'],
      ['Post Run ./actions/second', 'success'],
      ['Post Run ./actions/first', 'success'],
    ]);
    expect(a.steps[2]?.outputs).toEqual({ greeting: 'second greets first greets nobody' });
    expect(a.steps[6]?.log).toContain('post of second');
    expect(a.steps[7]?.log).toContain('post of first');
  });
});
