import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../../src/core/errors.js';
import { StackProblem, interpolate, interpolateTree } from '../../../src/compose/interpolate.js';

const env = new Map([
  ['HOST', 'db.internal'],
  ['EMPTY', ''],
  ['PORT', '5432'],
  ['HOSTILE', '$(id) `id`; rm -rf / \n next: ${HOST} $$'],
  ['_under', 'u'],
]);
const where = { file: 'stack.yml', line: 7 };

describe('interpolate', () => {
  test.each([
    ['plain text', 'plain text', []],
    ['${HOST}', 'db.internal', ['HOST']],
    ['$HOST', 'db.internal', ['HOST']],
    ['$HOST:$PORT', 'db.internal:5432', ['HOST', 'PORT']],
    ['${HOST}${HOST}', 'db.internaldb.internal', ['HOST']],
    ['pre-${HOST}-post', 'pre-db.internal-post', ['HOST']],
    ['$HOST.x', 'db.internal.x', ['HOST']],
    ['$_under', 'u', ['_under']],
    ['${MISSING:-fallback}', 'fallback', ['MISSING']],
    ['${MISSING-fallback}', 'fallback', ['MISSING']],
    ['${EMPTY:-fallback}', 'fallback', ['EMPTY']],
    ['${EMPTY-fallback}', '', ['EMPTY']],
    ['${HOST:-fallback}', 'db.internal', ['HOST']],
    ['${MISSING:-}', '', ['MISSING']],
    ['${MISSING:-a:b c/d}', 'a:b c/d', ['MISSING']],
    ['${MISSING:-$HOST}', '$HOST', ['MISSING']], // defaults are literal, as in the docker CLI
    ['${HOST:?need a host}', 'db.internal', ['HOST']],
    ['${EMPTY?may be empty}', '', ['EMPTY']],
    ['$$', '$', []],
    ['$$HOST', '$HOST', []],
    ['$${HOST}', '${HOST}', []],
    ['cost: $$5', 'cost: $5', []],
    ['echo `id`; ls', 'echo `id`; ls', []],
    // A value is never interpolated again: what the variable holds is data.
    ['${HOSTILE}', '$(id) `id`; rm -rf / \n next: ${HOST} $$', ['HOSTILE']],
  ])('%j', (text, value, variables) => {
    expect(interpolate(text, env, where)).toStrictEqual({ value, variables });
  });

  test.each([
    ['${MISSING}', /stack\.yml:7: variable MISSING is not set/],
    ['$MISSING', /variable MISSING is not set/],
    ['a ${HOST} ${NOPE}', /variable NOPE is not set/],
    ['${MISSING:?give the database host}', /stack\.yml:7: required variable MISSING: give the database host/],
    ['${EMPTY:?must not be empty}', /required variable EMPTY: must not be empty/],
    ['${MISSING?}', /required variable MISSING: it is not set/],
    ['${EMPTY:?}', /required variable EMPTY: it is not set or empty/],
  ])('%j is an error naming the variable, the file and the line', (text, message) => {
    const error = catchError(() => interpolate(text, env, where));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).field).toBe('env');
    expect(error.message).toMatch(message);
  });

  test.each([
    ['$(id)', /"\$" is not followed by a variable name/],
    ['`$(rm -rf /)`', /"\$" is not followed by a variable name/],
    ['cost $5', /not followed by a variable name/],
    ['trailing $', /not followed by a variable name/],
    ['${HOST', /no closing "}"/],
    ['${}', /does not start with a variable name/],
    ['${1X}', /does not start with a variable name/],
    ['${HOST:+alt}', /not a supported substitution/],
    ['${HOST/x/y}', /not a supported substitution/],
    ['${HO ST}', /not a supported substitution/],
  ])('%j is invalid syntax, like the docker CLI', (text, message) => {
    const error = catchError(() => interpolate(text, env, where));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).field).toBe('stack-file');
    expect(error.message).toMatch(message);
    expect(error.message).toContain('write "$$" for a literal "$"');
  });

  test('the path of the value is part of the message', () => {
    expect(() =>
      interpolate('${NOPE}', env, { file: 'deploy/stack.yml', line: 3, path: 'services.web.image' }),
    ).toThrow('deploy/stack.yml:3 (services.web.image): variable NOPE is not set');
  });
});

describe('interpolateTree', () => {
  test('substitutes string values at every depth, leaves keys and other scalars alone', () => {
    const tree = {
      services: { web: { image: '${HOST}:1', environment: { $HOST: '$PORT' }, replicas: 3, on: true, nothing: null } },
      list: ['$HOST', 1, ['${PORT}']],
    };
    const result = interpolateTree(tree, env, { file: 'stack.yml' });
    expect(result.value).toStrictEqual({
      services: {
        web: { image: 'db.internal:1', environment: { $HOST: '5432' }, replicas: 3, on: true, nothing: null },
      },
      list: ['db.internal', 1, ['5432']],
    });
    expect(result.variables).toStrictEqual(['HOST', 'PORT']);
  });

  test('returns a new tree: shared objects (expanded aliases) become independent copies', () => {
    const shared = { a: '$HOST' };
    const result = interpolateTree({ x: shared, y: shared }, env, { file: 'f' }).value as Record<string, object>;
    expect(result.x).toStrictEqual({ a: 'db.internal' });
    expect(result.x).not.toBe(result.y);
    expect(shared.a).toBe('$HOST');
  });

  test('with onProblem every value that cannot be substituted is reported and kept as written', () => {
    const tree = { a: '${MISSING}', b: { c: 'x ${BROKEN', d: '$HOST' }, e: ['${NEEDED:?give it}'] };
    expect(() => interpolateTree(tree, env, { file: 'f' })).toThrow(/variable MISSING is not set/);
    const problems: StackProblem[] = [];
    const result = interpolateTree(tree, env, { file: 'f', onProblem: (problem) => problems.push(problem) });
    expect(result.value).toStrictEqual({
      a: '${MISSING}',
      b: { c: 'x ${BROKEN', d: 'db.internal' },
      e: ['${NEEDED:?give it}'],
    });
    expect(problems.map((problem) => [problem.where.path, problem.field])).toStrictEqual([
      ['a', 'env'],
      ['b.c', 'stack-file'],
      ['e.0', 'env'],
    ]);
    expect(problems[2]?.reason).toBe('required variable NEEDED: give it');
    expect(problems[2]?.message).toBe('f (e.0): required variable NEEDED: give it');
  });

  test('a __proto__ key stays data', () => {
    const tree = JSON.parse('{"__proto__": {"polluted": "$HOST"}}') as unknown;
    const result = interpolateTree(tree, env, { file: 'f' }).value as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(result, '__proto__')?.value).toStrictEqual({ polluted: 'db.internal' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
  });

  test('reports the line of the value from lineOf and calls cast only for substituted strings', () => {
    const seen: string[] = [];
    const cast = (path: readonly (string | number)[], value: string): unknown => {
      seen.push(path.join('.'));
      return path.at(-1) === 'replicas' ? Number(value) : value;
    };
    const result = interpolateTree({ replicas: '${PORT}', name: 'fixed', other: '$HOST' }, env, { file: 'f', cast });
    expect(result.value).toStrictEqual({ replicas: 5432, name: 'fixed', other: 'db.internal' });
    expect(seen).toStrictEqual(['replicas', 'other']);

    const lineOf = (path: readonly (string | number)[]): number => (path.join('.') === 'a.1' ? 42 : 1);
    expect(() => interpolateTree({ a: ['ok', '${GONE}'] }, env, { file: 'stack.yml', lineOf })).toThrow(
      'stack.yml:42 (a.1): variable GONE is not set',
    );
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error: unknown) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected an error');
}
