import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { canonicalYaml, keyText, quoteString, readsAsNonString } from '../../../src/compose/canonical.js';
import type { PolicySettings } from '../../../src/compose/policy.js';
import { PolicyError, StackError, parseStack, renderStack } from '../../../src/compose/stack.js';
import { Tenant } from '../../../src/core/tenant.js';
import { TRICKY_YAML_VALUES } from '../../support/yaml-values.js';

const policy: PolicySettings = { mode: 'enforce', allowPublishedPorts: false, domains: [] };

function render(text: string, mode: PolicySettings['mode'] = 'enforce') {
  return renderStack({
    tenant: Tenant.parse('acme'),
    file: 'stack.yml',
    text,
    image: 'registry.example.com/acme/web:1',
    env: new Map([['TAG', 'v1']]),
    release: { id: '20250101-000000-abc', time: '2025-01-01T00:00:00Z' },
    policy: { ...policy, mode },
  });
}

/** The violations a stack file is refused with at parse, as `line: message`. */
function refusal(text: string): PolicyError {
  let error: unknown;
  try {
    parseStack('stack.yml', text);
  } catch (caught: unknown) {
    error = caught;
  }
  expect(error).toBeInstanceOf(PolicyError);
  return error as PolicyError;
}

/** A stack whose `web` service has one environment entry written as `line`. */
const withKey = (line: string): string =>
  `services:\n  web:\n    image: registry.example.com/acme/web:1\n    environment:\n      ${line}\n`;

describe('keys that are not plain are refused at parse, in any policy mode', () => {
  test.each([
    ['a quoted merge key', `"<<": { privileged: true }`],
    ['a single-quoted merge key', `'<<': { privileged: true }`],
    ['a tagged merge key', `!!merge <<: { privileged: true }`],
    ['a verbatim-tagged merge key', `!<tag:yaml.org,2002:merge> <<: { privileged: true }`],
    ['a line separator (escaped)', `"A\\u2028B": x`],
    ['a line separator (raw)', `"A\u2028B": x`],
    ['a paragraph separator', `"A\\u2029B": x`],
    ['a raw paragraph separator in a plain key', `A\u2029B: x`],
    ['NEL', `"A\\NB": x`],
    ['NEL (raw)', `"A\u0085B": x`],
    ['a BOM', `"\\uFEFFA": x`],
    ['a tab', `"A\\tB": x`],
    ['a carriage return', `"A\\rB": x`],
    ['a line feed', `"A\\nB": x`],
    ['a NUL', `"A\\0B": x`],
    ['DEL', `"A\\x7fB": x`],
    ['a no-break space', `"A\\u00a0B": x`],
    ['a non-ASCII letter', `café: x`],
    ['an emoji', `"A\\U0001F600": x`],
    ['a fullwidth letter', `ｐrivileged: x`],
    ['a leading space', `" A": x`],
    ['a trailing space', `"A ": x`],
    ['an empty key', `"": x`],
    ['a null key (~)', `~: x`],
    ['a null key (null)', `null: x`],
    ['an implicit null key', `? \n      : x`],
    ['an integer key', `1: x`],
    ['a hex key', `0x1F: x`],
    ['a float key', `1.5: x`],
    ['an .inf key', `.inf: x`],
    ['a boolean key (true)', `true: x`],
    ['a boolean key (False)', `False: x`],
    ['YAML 1.1 yes', `yes: x`],
    ['YAML 1.1 Y', `Y: x`],
    ['YAML 1.1 n', `n: x`],
    ['YAML 1.1 NO', `NO: x`],
    ['YAML 1.1 on', `on: x`],
    ['YAML 1.1 Off', `Off: x`],
    ['YAML 1.1 on, quoted', `"on": x`],
    ['YAML 1.1 y, single-quoted', `'y': x`],
    ['YAML 1.1 octal', `0755: x`],
    ['YAML 1.1 octal, quoted', `"0755": x`],
    ['YAML 1.1 sexagesimal', `"1:20": x`],
    ['YAML 1.1 binary', `"0b101": x`],
    ['YAML 1.1 underscored number', `"1_000": x`],
    ['YAML 1.1 timestamp', `"2001-12-14": x`],
    ['an explicit tag', `!!str tagged: x`],
    ['a local tag', `!name tagged: x`],
    ['a flow mapping as key', `? { a: 1 }\n      : x`],
    ['a sequence as key', `? [a, b]\n      : x`],
  ])('%s', (_what, line) => {
    const error = refusal(withKey(line));
    expect(error.violations).toHaveLength(1);
    expect(error.violations[0]).toMatchObject({ rule: 'plain-key', line: 5, severity: 'error', file: 'stack.yml' });
    expect(error.message).toContain('stack.yml:5 [plain-key]');
    expect(() => render(withKey(line), 'warn')).toThrow(PolicyError);
  });

  test('an alias as key is refused on its line', () => {
    const text = `x-name: &name A\nservices:\n  web:\n    image: registry.example.com/acme/web:1\n    environment:\n      *name : x\n`;
    expect(refusal(text).violations.map((v) => v.line)).toStrictEqual([6]);
  });

  test('every offending key is reported, anchored parts and x- sections included, each with its line', () => {
    const text = [
      'x-base: &base',
      '  "<<": { privileged: true }',
      'services:',
      '  web:',
      '    <<: *base',
      '    image: registry.example.com/acme/web:1',
      '    environment:',
      '      "A\\u2028B": x',
      '      yes: x',
      '      OK: x',
      '    labels:',
      '      1: x',
      '',
    ].join('\n');
    const error = refusal(text);
    expect(error.violations.map((v) => v.line)).toStrictEqual([2, 8, 9, 12]);
    expect(error.message).toContain('U+2028 (line separator)');
    expect(error.message).toMatch(/merge key "<<"/);
  });

  test('labels written as a list become keys: theirs are refused the same way, each on its line', () => {
    const text = [
      'services:',
      '  web:',
      '    image: registry.example.com/acme/web:1',
      '    deploy:',
      '      labels:',
      '        - "on=1"',
      '        - "ok=2"',
      '        - "0755=3"',
      '        - "caf\u00e9=4"',
      '        - "a\u2028b=5"',
      '        - "<<=6"',
      '',
    ].join('\n');
    let error: unknown;
    try {
      render(text, 'warn');
    } catch (caught: unknown) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PolicyError);
    const violations = (error as PolicyError).violations;
    expect(violations.map((v) => [v.rule, v.line])).toStrictEqual([
      ['plain-key', 6],
      ['plain-key', 8],
      ['plain-key', 9],
      ['plain-key', 10],
      ['plain-key', 11],
    ]);
    expect((error as Error).message).toContain(
      'service "web": the label key "on" is not a string for every YAML reader',
    );
    expect((error as Error).message).toContain('U+2028 (line separator)');
  });

  test('names the character that makes a key not plain', () => {
    expect(refusal(withKey('"A\\u2029B": x')).message).toContain('U+2029 (paragraph separator)');
    expect(refusal(withKey('"A\\NB": x')).message).toContain('U+0085 (next line (NEL))');
    expect(refusal(withKey('"\\uFEFFA": x')).message).toContain('U+FEFF (byte order mark)');
    expect(refusal(withKey('café: x')).message).toContain('U+00E9 (non-ASCII)');
    expect(refusal(withKey('" A": x')).message).toContain('" A" starts or ends with a space');
    const raw = refusal(withKey('"A\u2028B\u0085C": x')).message;
    expect(raw).toContain('"A\\u2028B\\x85C"');
    expect(raw).not.toMatch(/[\u2028\u2029\u0085]/);
  });

  test('plain keys pass: names with punctuation, a plain << merge, anchors and aliases in values', () => {
    const text = [
      'x-env: &env',
      '  LOG_LEVEL: info',
      'services:',
      '  web:',
      '    image: registry.example.com/acme/web:1',
      '    environment:',
      '      <<: *env',
      '      "a b": x',
      '      "x:y": x',
      '      Yes_Please: x',
      '      yess: x',
      '      "0.1.2-beta": x',
      '    deploy:',
      '      labels:',
      '        com.example/team: web',
      '',
    ].join('\n');
    expect(() => parseStack('stack.yml', text)).not.toThrow();
    const env = (parseStack('stack.yml', text).data as { services: { web: { environment: object } } }).services.web
      .environment;
    expect(env).toStrictEqual({
      LOG_LEVEL: 'info',
      'a b': 'x',
      'x:y': 'x',
      Yes_Please: 'x',
      yess: 'x',
      '0.1.2-beta': 'x',
    });
  });

  test('readsAsNonString follows YAML 1.1 and YAML 1.2', () => {
    for (const text of [
      'y',
      'N',
      'yes',
      'On',
      'OFF',
      '~',
      'null',
      '',
      '0755',
      '0o17',
      '0x1f',
      '1:20',
      '1_000',
      '.5',
      '1e3',
      '.NaN',
      '2001-12-14',
      '<<',
    ])
      expect(readsAsNonString(text)).toBe(true);
    for (const text of ['web', 'yess', 'onion', 'A', '1.2.3', '0.1.2-beta', 'x:y', 'v1'])
      expect(readsAsNonString(text)).toBe(false);
  });
});

/** Strings as Docker ends up with them: the `$$` of the wire text substituted back to `$`. */
function undouble(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$$', '$');
  if (Array.isArray(value)) return value.map(undouble);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, undouble(item)]));
  return value;
}

/** Everything outside double-quoted strings: printable ASCII only, and no anchor, alias, tag or merge key. */
function outsideQuotes(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
}

describe('the rendered text reads back as judged, in YAML 1.1 and YAML 1.2', () => {
  const environment = Object.fromEntries(TRICKY_YAML_VALUES.map((value, i) => [`V${i}`, value]));
  const text = [
    'x-common: &common',
    '  labels:',
    '    com.example.team: web',
    'services:',
    '  web:',
    '    <<: *common',
    '    image: ${IMAGE}',
    `    environment: ${JSON.stringify(environment)}`,
    `    command: ${JSON.stringify(TRICKY_YAML_VALUES)}`,
    '    deploy:',
    '      replicas: 2',
    '      labels:',
    '        "a b": "c"',
    '        "x:y": "${TAG}"',
    '        com.example.list: []',
    '        com.example.map: {}',
    '    secrets:',
    '      - source: db',
    '        mode: 0440',
    '    healthcheck:',
    '      test: [CMD, "true"]',
    '      retries: 3',
    '    stop_grace_period: 1m30s',
    '  worker:',
    '    image: ${IMAGE}',
    '    deploy:',
    '      labels: ["a b=1", "x:y=2", "com.example/z=3", "k=", "Yes_Please=yes"]',
    '    ulimits:',
    '      nofile: { soft: 1024, hard: 1e5 }',
    'secrets:',
    '  db:',
    '    external: true',
    '    name: acme_db',
    '',
  ].join('\n');

  test.each(['1.1', '1.2'] as const)('YAML %s', (version) => {
    const rendered = render(text);
    const read = undouble(parse(rendered.yaml, { version, merge: false, uniqueKeys: true }));
    expect(read).toStrictEqual(rendered.document);
    const web = (rendered.document.services as Record<string, Record<string, unknown>>).web as Record<string, unknown>;
    expect(web.environment).toStrictEqual(undouble(environment));
    expect(web.command).toStrictEqual(undouble(TRICKY_YAML_VALUES));
  });

  test('is printable ASCII, with no anchor, alias, tag or merge key outside quoted strings', () => {
    const rendered = render(text);
    expect(rendered.yaml).toMatch(/^[\x20-\x7e\n]*$/);
    const bare = outsideQuotes(rendered.yaml);
    expect(bare).not.toMatch(/[&*!|>%@`']|<</);
    for (const line of bare.split('\n')) expect(line).toMatch(/^(?: *(?:- )*(?:[A-Za-z0-9_./-]+|"")?:?(?: .*)?)?$/);
  });
});

describe('canonicalYaml', () => {
  test('writes block style with strings quoted and keys plain only where safe', () => {
    const yaml = canonicalYaml({
      a: [{ b: 1, c: [true, null] }, [], {}, ['x', ['y']]],
      on: 'yes',
      'k y': 1.5,
      big: 1e21,
      tiny: -1e-7,
    });
    expect(yaml).toBe(
      [
        'a:',
        '  - b: 1',
        '    c:',
        '      - true',
        '      - null',
        '  - []',
        '  - {}',
        '  - - "x"',
        '    - - "y"',
        '"on": "yes"',
        '"k y": 1.5',
        'big: 1.0e+21',
        'tiny: -1.0e-7',
        '',
      ].join('\n'),
    );
    expect(parse(yaml, { version: '1.1' })).toStrictEqual({
      a: [{ b: 1, c: [true, null] }, [], {}, ['x', ['y']]],
      on: 'yes',
      'k y': 1.5,
      big: 1e21,
      tiny: -1e-7,
    });
  });

  test('escapes everything outside printable ASCII', () => {
    expect(quoteString('a"b\\c\n\u2028\u0085é\u{1F600}')).toBe('"a\\"b\\\\c\\x0a\\u2028\\x85\\xe9\\U0001f600"');
    expect(() => quoteString('\ud800')).toThrow(/unpaired surrogate/);
    expect(keyText('traefik.http.routers.acme-web.rule')).toBe('traefik.http.routers.acme-web.rule');
    expect(keyText('y')).toBe('"y"');
    expect(keyText('-x')).toBe('"-x"');
  });

  test('refuses values that are not plain data', () => {
    expect(() => canonicalYaml({ a: new Date(0) })).toThrow(/Date/);
    expect(() => canonicalYaml({ a: new Uint8Array(1) })).toThrow(/Uint8Array/);
  });
});

describe('keys that are not plain come with every other problem of the file', () => {
  test('a quoted merge key, a label-list key, an undeclared network and privileged: one error, by line', () => {
    const text = [
      'services:',
      '  web:',
      '    image: registry.example.com/acme/web:1',
      "    '<<': { privileged: true }",
      '    networks: [backend]',
      '    privileged: true',
      '    deploy:',
      '      labels: ["caf\u00e9=1"]',
      '',
    ].join('\n');
    let error: unknown;
    try {
      render(text);
    } catch (caught: unknown) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StackError);
    const { problems, violations } = error as StackError;
    expect(problems.map((p) => p.where.line)).toEqual([5]);
    expect(violations.map((v) => `${v.line} ${v.rule}`)).toEqual([
      '4 plain-key',
      '4 service-key',
      '6 privileged',
      '8 plain-key',
    ]);
    // In warn mode the keys still refuse the stack (the rest only warns), with the file's other problems.
    let warned: unknown;
    try {
      render(text, 'warn');
    } catch (caught: unknown) {
      warned = caught;
    }
    expect(warned).toBeInstanceOf(StackError);
    expect((warned as StackError).violations.map((v) => `${v.line} ${v.rule}`)).toEqual(['4 plain-key', '8 plain-key']);
  });
});
