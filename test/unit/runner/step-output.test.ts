import { describe, expect, test } from 'vitest';
import {
  LineSplitter,
  parseCommandLine,
  parseKeyValueFile,
  parsePathFile,
  RUNNER_COMMANDS,
  SecretMasker,
  StepOutput,
} from '../../../lab/runner/step-output.js';

const REGISTERED = new Set<string>(RUNNER_COMMANDS);

/** Feeds lines to a fresh StepOutput and returns it. */
function step(lines: string[], options: ConstructorParameters<typeof StepOutput>[0] = {}): StepOutput {
  const output = new StepOutput(options);
  for (const line of lines) output.line(line);
  return output;
}

describe('workflow command lines (ActionCommand.TryParseV2 and the legacy ##[ form)', () => {
  test.each([
    ['::warning::disk low', { name: 'warning', properties: {}, data: 'disk low' }],
    ['   ::debug::indented', { name: 'debug', properties: {}, data: 'indented' }],
    [
      '::error file=stack.yml,line=3,title=Cluster policy%3A host::bad%0Aline two 100%25',
      {
        name: 'error',
        properties: { file: 'stack.yml', line: '3', title: 'Cluster policy: host' },
        data: 'bad\nline two 100%',
      },
    ],
    ['::error title=a%2Cb,col=::x', { name: 'error', properties: { title: 'a,b' }, data: 'x' }],
    ['::set-output name=version::1.2.3', { name: 'set-output', properties: { name: 'version' }, data: '1.2.3' }],
    ['::ADD-MASK::Secret', { name: 'add-mask', properties: {}, data: 'Secret' }],
    ['::group::Build', { name: 'group', properties: {}, data: 'Build' }],
    // %25 is unescaped last: an escaped escape stays an escape.
    ['::notice::%250A', { name: 'notice', properties: {}, data: '%0A' }],
    ['prefix ##[warning]legacy form', { name: 'warning', properties: {}, data: 'legacy form' }],
    ['##[set-output name=x;]a%3Bb', { name: 'set-output', properties: { name: 'x' }, data: 'a;b' }],
  ])('%j', (line, command) => {
    expect(parseCommandLine(line, REGISTERED)).toEqual(command);
  });

  test.each([['::unknown::x'], ['no command'], [':: warning::x'], ['::warning'], ['text ::warning::x'], ['##[nope]x']])(
    '%j is not a command',
    (line) => {
      expect(parseCommandLine(line, REGISTERED)).toBeUndefined();
    },
  );
});

describe('what the run page shows', () => {
  test.each([
    ['plain text stays', ['hello'], ['hello']],
    ['unknown commands are text', ['::frobnicate::x'], ['::frobnicate::x']],
    ['debug is hidden by default', ['::debug::details', 'after'], ['after']],
    ['group markers', ['::group::Build', 'inside', '::endgroup::'], ['##[group]Build', 'inside', '##[endgroup]']],
    ['annotations', ['::error file=a.yml,line=2::broken'], ['##[error]broken']],
    ['add-mask is consumed', ['::add-mask::tok3n'], []],
    [
      'echo on shows later commands',
      ['::echo::on', '::group::G', '::add-mask::zzz-1'],
      ['::group::G', '##[group]G', '::add-mask::***'],
    ],
    ['runner step markers are neutralised', ['##[start-action x'], ['##[\\start-action x']],
  ])('%s', (_name, lines, shown) => {
    expect(step(lines).log).toEqual(shown);
  });

  test('debug lines show with ACTIONS_STEP_DEBUG', () => {
    expect(step(['::debug::details'], { debug: true }).log).toEqual(['##[debug]details']);
  });

  test('annotations carry file, line, column and title as the runner validates them', () => {
    const output = step([
      '::error file=stack.yml,line=7,col=3,endColumn=9,title=Cluster policy::no host network',
      '::warning endLine=4::end only',
      '::notice line=9,endLine=2,col=1::end before start',
    ]);
    expect(output.annotations).toEqual([
      {
        level: 'error',
        message: 'no host network',
        file: 'stack.yml',
        line: 7,
        col: 3,
        endColumn: 9,
        title: 'Cluster policy',
      },
      { level: 'warning', message: 'end only', line: 4, endLine: 4 },
      { level: 'notice', message: 'end before start' },
    ]);
  });
});

describe('masks apply to later lines only; what came before is a leak', () => {
  test.each([
    ['masked after add-mask', ['::add-mask::hunter22', 'pw=hunter22'], ['pw=***'], []],
    [
      'shown in clear before add-mask: a leak',
      ['pw=hunter22', '::add-mask::hunter22', 'again hunter22'],
      ['pw=hunter22', 'again ***'],
      ['hunter22'],
    ],
    ['each line of a multi-line mask', ['::add-mask::line-one%0Aline-two', 'x line-two y'], ['x *** y'], []],
    ['overlapping values merge', ['::add-mask::abcdef', '::add-mask::defxyz', 'abcdefxyz!'], ['***!'], []],
    [
      'JSON-escaped and URL-encoded forms',
      ['::add-mask::a"b c', '{"v":"a\\"b c"} q=a%22b%20c'],
      ['{"v":"***"} q=***'],
      [],
    ],
    [
      'a leak in an annotation',
      ['::warning::token=s3cr3t', '::add-mask::s3cr3t'],
      ['##[warning]token=s3cr3t'],
      ['s3cr3t'],
    ],
  ])('%s', (_name, lines, shown, leaks) => {
    const output = step(lines);
    expect(output.log).toEqual(shown);
    expect(output.leaks).toEqual(leaks);
  });

  test('secrets are masked from the start (each line of a multi-line secret too) and never leak', () => {
    const output = step(['key: -----BEGIN KEY-----', 'body: AAAA-line', '::add-mask::AAAA-line'], {
      secrets: ['-----BEGIN KEY-----\nAAAA-line\n-----END KEY-----\n'],
    });
    expect(output.log).toEqual(['key: ***', 'body: ***']);
    expect(output.leaks).toEqual([]);
  });

  test('an empty add-mask is a warning, not a mask', () => {
    const output = step(['::add-mask::  ', 'text']);
    expect(output.masks).toEqual([]);
    expect(output.annotations).toEqual([
      { level: 'warning', message: "Can't add secret mask for empty string in ##[add-mask] command." },
    ]);
  });

  test('masks apply inside annotations', () => {
    expect(step(['::add-mask::p4ss', '::error::login p4ss refused']).annotations[0]?.message).toBe('login *** refused');
  });
});

describe('stop-commands', () => {
  test('commands between the token lines are text; the token line resumes', () => {
    const output = step([
      '::stop-commands::pause-7f3a9c',
      '::error::from a container log',
      '::add-mask::not-a-mask',
      '::pause-7f3a9c::',
      '::warning::processed again',
      'not-a-mask',
    ]);
    expect(output.log).toEqual([
      '::stop-commands::***',
      '::error::from a container log',
      '::add-mask::not-a-mask',
      '::***::',
      '##[warning]processed again',
      'not-a-mask',
    ]);
    expect(output.annotations.map((a) => a.message)).toEqual(['processed again']);
    expect(output.masks).toEqual(['pause-7f3a9c']);
  });

  test.each([[''], ['error'], ['pause-logging']])('token %j is refused and fails the step', (token) => {
    const output = step([`::stop-commands::${token}`, '::warning::still processed']);
    expect(output.commandFailed).toBe(true);
    expect(output.annotations.at(-1)).toEqual({ level: 'warning', message: 'still processed' });
  });
});

describe('deprecated and disabled commands', () => {
  test('set-output and save-state still work, with the deprecation warning', () => {
    const output = step(['::set-output name=a::1', '::save-state name=b::2']);
    expect(output.commandOutputs).toEqual({ a: '1' });
    expect(output.commandState).toEqual({ b: '2' });
    expect(output.annotations.map((a) => a.level)).toEqual(['warning', 'warning']);
  });

  test.each([['::set-env name=X::1'], ['::add-path::/tmp']])('%s fails the step', (line) => {
    const output = step([line]);
    expect(output.commandFailed).toBe(true);
    expect(output.annotations.at(-1)?.message).toMatch(/is disabled/);
  });
});

describe('GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STATE files', () => {
  test.each([
    [
      'key=value lines',
      'a=1\nb=x=y\n',
      [
        ['a', '1'],
        ['b', 'x=y'],
      ],
    ],
    ['empty lines skipped, empty value kept', '\na=\n\n', [['a', '']]],
    [
      'heredoc (what @actions/core writes)',
      'status<<ghadelimiter_1\ndeployed\nghadelimiter_1\n',
      [['status', 'deployed']],
    ],
    [
      'multi-line heredoc',
      'tags<<EOF\na:1\nb:2\nEOF\nnext=1\n',
      [
        ['tags', 'a:1\nb:2'],
        ['next', '1'],
      ],
    ],
    ['empty heredoc', 'x<<EOF\nEOF\n', [['x', '']]],
    ['= before << is key=value', 'a=b<<c\n', [['a', 'b<<c']]],
    [
      'the last value wins in a record',
      'a=1\na=2\n',
      [
        ['a', '1'],
        ['a', '2'],
      ],
    ],
  ])('%s', (_name, text, pairs) => {
    expect(parseKeyValueFile(text)).toEqual(pairs);
  });

  test.each([
    ['no delimiter', 'x<<EOF\nvalue\n', /Matching delimiter not found 'EOF'/],
    ['delimiter without a newline after a value', 'x<<EOF\nvalue', /EOF marker missing new line|Matching delimiter/],
    ['neither = nor <<', 'garbage\n', /Invalid format 'garbage'/],
    ['empty name', '<<EOF\nEOF\n', /Name must not be empty/],
  ])('%s is refused as the runner refuses it', (_name, text, message) => {
    expect(() => parseKeyValueFile(text)).toThrow(message);
  });

  test('GITHUB_PATH: one directory a line', () => {
    expect(parsePathFile('/opt/a\n\n/opt/b\r\n')).toEqual(['/opt/a', '/opt/b']);
  });
});

describe('stream lines and the masker', () => {
  test('lines split across chunks, CRLF trimmed, the last partial line flushed at the end', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((l) => lines.push(l));
    for (const chunk of ['::add-', 'mask::x\r\nsecond', ' half\nlast']) splitter.push(chunk);
    expect(lines).toEqual(['::add-mask::x', 'second half']);
    splitter.end();
    expect(lines).toEqual(['::add-mask::x', 'second half', 'last']);
  });

  test.each([
    [['abc'], 'xabcxabc', 'x***x***'],
    [['ab', 'abc'], 'abcd', '***d'],
    [['bc', 'ab'], 'abcd', '***d'],
    [[], 'clear', 'clear'],
  ])('masks %j in %j', (values, line, masked) => {
    const masker = new SecretMasker();
    for (const v of values) masker.add(v);
    expect(masker.mask(line)).toBe(masked);
  });
});
