import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { parseHeaderLines } from '../../../src/health/request-headers.js';
import { actionField } from '../../../src/core/run.js';

describe('parseHeaderLines', () => {
  test('reads Name: value lines and masks every value', () => {
    const masked: string[] = [];
    const headers = parseHeaderLines(
      'Authorization: Bearer s3cr3t-token\n# a comment\n\nX-Api-Key:  k3y:with:colons ',
      (v) => masked.push(v),
    );
    expect(headers).toEqual({ authorization: 'Bearer s3cr3t-token', 'x-api-key': 'k3y:with:colons' });
    expect(masked).toEqual(['Bearer s3cr3t-token', 'k3y:with:colons']);
  });

  test.each([
    ['Bearer s3cr3t-token', /line 1 is not "Name: value"/],
    ['ok: 1\nBad Name s3cr3t: value', /line 2: the header name is not a valid HTTP token/],
    ['Host: example.com', /host-header input/],
    ['X-A: s3cr3t-one\nx-a: s3cr3t-two', /header "x-a" is given twice/],
  ])('%j is refused without quoting a value', (text, message) => {
    let error: unknown;
    try {
      parseHeaderLines(text, () => undefined);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(message);
    expect((error as ConfigurationError).spelled(actionField)).toMatch(/^Input "headers": /);
    expect((error as Error).message).not.toContain('s3cr3t');
  });
});
