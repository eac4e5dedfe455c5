import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { parseExpectedBody, parseExpectedStatus, versionMatches } from '../../../src/health/expectations.js';
import { actionSpelling } from '../../support/errors.js';

describe('parseExpectedStatus', () => {
  test.each([
    ['200', 200, true],
    ['200', 201, false],
    ['200,204', 204, true],
    ['200, 204', 203, false],
    ['200-299', 250, true],
    ['200-299', 299, true],
    ['200-299', 300, false],
    ['200-299, 304', 304, true],
    ['200-299\n304', 199, false],
  ])('%j accepts %i: %s', (text, code, expected) => {
    expect(parseExpectedStatus(text).matches(code)).toBe(expected);
  });

  test.each(['', 'ok', '20', '299-200', '600', '200-700', '2xx'])(
    '%j is a configuration error naming the input',
    (text) => {
      expect(() => parseExpectedStatus(text)).toThrow(ConfigurationError);
      expect(actionSpelling(() => parseExpectedStatus(text))).toMatch(/^Input "expected-status": /);
    },
  );

  test('keeps the text for reasons', () => {
    expect(parseExpectedStatus('200-299,  304').text).toBe('200-299, 304');
  });
});

describe('parseExpectedBody', () => {
  test('compiles a regular expression', () => {
    expect(parseExpectedBody('"status":\\s*"ok"')?.test('{"status": "ok"}')).toBe(true);
    expect(parseExpectedBody(undefined)).toBeUndefined();
  });
  test('an invalid one names the input', () => {
    expect(actionSpelling(() => parseExpectedBody('('))).toMatch(
      /^Input "expected-body": not a valid regular expression/,
    );
  });
});

describe('versionMatches', () => {
  test.each([
    ['1.2.3', '1.2.3', true],
    ['1.2.3', '1.2.4', false],
    ['1.2.30', '1.2.3', false],
    ['abc1234', 'abc1234', true],
    ['abc1234def5678abc1234def5678abc1234def56', 'abc1234', true],
    ['abc1234', 'abc1234def5678abc1234def5678abc1234def56', true],
    ['ABC1234', 'abc1234', true],
    ['abc1234', 'abc1235', false],
    ['abc12', 'abc1234', false],
    ['v1', 'v1.0', false],
  ])('served %j, expected %j → %s', (served, expected, result) => {
    expect(versionMatches(served, expected)).toBe(result);
  });
});
