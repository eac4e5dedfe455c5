import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { commandLine, quoteArg } from '../../../src/transport/quote.js';

const HOSTILE = [
  `it's`,
  `"double"`,
  '$(touch /tmp/pwned)',
  '`id`',
  'a; rm -rf /',
  'a && reboot',
  'a || b',
  'line1\nline2',
  'tab\there',
  '$HOME ${PATH}',
  '*',
  '~root',
  '!history',
  "'; echo injected; '",
  '\\',
  '-rf',
  '',
  ' leading space',
  '#comment',
  '>(cat) <(cat)',
  'café ☃ ｄｏｃｋｅｒ',
];

describe('quoteArg', () => {
  it.each(HOSTILE)('round-trips %j through a real POSIX shell as one plain argument', (arg) => {
    const out = execFileSync('sh', ['-c', `printf '%s\\0' ${quoteArg(arg)}`], { encoding: 'utf8' });
    expect(out).toBe(`${arg}\0`);
  });

  it('keeps a whole argv intact, argument by argument', () => {
    const argv = ['printf', '%s\\0', ...HOSTILE];
    const out = execFileSync('sh', ['-c', commandLine(argv)], { encoding: 'utf8' });
    expect(out.split('\0').slice(0, -1)).toEqual(HOSTILE);
  });

  it('leaves plain words unquoted so logs stay readable', () => {
    expect(commandLine(['docker', 'service', 'ls', '--format', '{{json .}}'])).toBe(
      "docker service ls --format '{{json .}}'",
    );
    expect(quoteArg('127.0.0.1:5000/lab/app:v1')).toBe('127.0.0.1:5000/lab/app:v1');
  });

  it('refuses NUL, which an exec request cannot carry', () => {
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
  });
});
