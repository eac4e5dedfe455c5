import { describe, expect, it } from 'vitest';
import { Inputs, environmentInputs, mapInputs } from '../../../src/core/inputs.js';
import { actionField } from '../../../src/core/run.js';
import { configurationErrorOf } from '../../support/errors.js';

function inputs(values: Record<string, string>, masked: string[] = []) {
  return new Inputs(mapInputs(values), (v) => masked.push(v));
}

describe('Inputs', () => {
  it('reads INPUT_<NAME> with hyphens kept, as the runner sets them', () => {
    const source = environmentInputs({ 'INPUT_KNOWN-HOSTS': ' line ', INPUT_DRY_RUN: 'x' });
    expect(source('known-hosts')).toBe(' line ');
    expect(source('dry run')).toBe('x');
  });

  it('names the input when a required one is missing', () => {
    const error = configurationErrorOf(() => inputs({ client: '  ' }).required('client'));
    expect(error.field).toBe('client');
    expect(error.message).toBe('is required and was not supplied');
  });

  it.each([
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['false', false],
    ['FALSE', false],
    ['', true],
  ])('boolean %j → %s', (raw, expected) => {
    expect(inputs({ flag: raw }).boolean('flag', true)).toBe(expected);
  });

  it.each(['yes', '1', 'on', 'tru', 'false; rm -rf /'])('boolean refuses %j naming the input', (raw) => {
    expect(configurationErrorOf(() => inputs({ 'auto-rollback': raw }).boolean('auto-rollback', true)).message).toMatch(
      /^expected true or false, got ".+"$/,
    );
  });

  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['45', 45_000],
    ['1.5s', 1500],
  ])('duration %j → %d ms', (raw, ms) => {
    expect(inputs({ timeout: raw }).duration('timeout', '10m')).toBe(ms);
  });

  it.each(['10 minutes', 'm10', '-5s', '10x', '5s;reboot'])('duration refuses %j', (raw) => {
    expect(configurationErrorOf(() => inputs({ timeout: raw }).duration('timeout', '10m')).message).toMatch(
      /^expected a duration such as 30s, 10m or 1h30m/,
    );
  });

  it('applies the duration range', () => {
    expect(
      configurationErrorOf(() => inputs({ timeout: '0s' }).duration('timeout', '1m', { min: 1000 })).message,
    ).toMatch(/at least/);
  });

  it('splits lists on newlines and commas and drops blanks', () => {
    expect(inputs({ host: 'a.example.com, b.example.com\n\nc' }).list('host')).toEqual([
      'a.example.com',
      'b.example.com',
      'c',
    ]);
  });

  it('parses KEY=VALUE lines, keeping = and spaces inside values', () => {
    const env = inputs({ env: 'A=1\n# comment\nB_2= x=y \n\nC=' }).keyValues('env');
    expect([...env]).toEqual([
      ['A', '1'],
      ['B_2', ' x=y '],
      ['C', ''],
    ]);
  });

  it.each([
    ['noequals', /line 1 is not KEY=VALUE/],
    ['=value', /line 1 is not KEY=VALUE/],
    ['1A=x', /line 1: key "1A" must be/],
    ['A-B=x', /key "A-B" must be/],
    ['A=1\nA=2', /line 2: key "A" is given twice/],
  ])('keyValues refuses %j', (raw, message) => {
    expect(configurationErrorOf(() => inputs({ env: raw }).keyValues('env')).message).toMatch(message);
  });

  it('masks every secret value and never quotes it in an error', () => {
    const masked: string[] = [];
    const parsed = inputs({ secrets: 'db_password=hunter2-very-secret\napi_key=abc\ndef' }, masked);
    const error = configurationErrorOf(() => parsed.keyValues('secrets', { secret: true }));
    expect(error.spelled(actionField)).toBe('Input "secrets": line 3 is not KEY=VALUE');
    expect(masked).toContain('hunter2-very-secret');
    expect(error.message).not.toContain('def');
  });

  it('masks a multi-line secret as a whole and line by line', () => {
    const masked: string[] = [];
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    expect(inputs({ 'ssh-key': key }, masked).secret('ssh-key', { required: true })).toBe(key);
    expect(masked).toEqual(expect.arrayContaining([key, 'b3BlbnNzaC1rZXktdjEAAAAA']));
  });

  it('parses JSON and names the input on a syntax error', () => {
    expect(inputs({ data: '{"a":[1]}' }).json('data')).toEqual({ a: [1] });
    expect(configurationErrorOf(() => inputs({ data: '{a:1}' }).json('data')).spelled(actionField)).toMatch(
      /^Input "data": expected JSON/,
    );
  });

  it('checks choices and integers', () => {
    expect(inputs({ policy: 'warn' }).choice('policy', ['enforce', 'warn'], 'enforce')).toBe('warn');
    expect(
      configurationErrorOf(() => inputs({ policy: 'off' }).choice('policy', ['enforce', 'warn'], 'enforce')).spelled(
        actionField,
      ),
    ).toBe('Input "policy": expected one of enforce, warn, got "off"');
    expect(inputs({ port: '2222' }).integer('port', 22, { min: 1, max: 65535 })).toBe(2222);
    expect(configurationErrorOf(() => inputs({ port: '22x' }).integer('port', 22)).message).toMatch(
      /expected a whole number, got "22x"/,
    );
    expect(configurationErrorOf(() => inputs({ port: '70000' }).integer('port', 22, { max: 65535 })).message).toMatch(
      /at most 65535/,
    );
  });

  it('clips a very long bad value in the message', () => {
    const long = 'x'.repeat(5000);
    expect(configurationErrorOf(() => inputs({ flag: long }).boolean('flag', false)).message.length).toBeLessThan(200);
  });
});
