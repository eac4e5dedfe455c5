import { Document, isAlias, isCollection, isScalar, visit } from 'yaml';
import type { LineCounter, Pair, Scalar } from 'yaml';
import { ConfigurationError } from '../core/errors.js';

/**
 * What the gate judges must be what Docker reads. The gate reads a stack file with the `yaml`
 * library (YAML 1.2); Docker reads the text we send with Go's YAML 1.1 loader. Two rules close the
 * gap between them, both allow-lists:
 *
 * - Every mapping key of the stack file is plain: an untagged scalar whose text is printable ASCII
 *   (no leading or trailing space), that is a string for a YAML 1.2 reader and for a YAML 1.1 reader
 *   alike (`yes`, `on`, `n`, `~`, `0755`, `1:20`, `.inf`, `2001-12-14` are not), and is not a merge
 *   key (`"<<"`, `'<<'`, `!!merge <<`). The one `<<` allowed is the plain, untagged YAML merge, which
 *   the parser resolves before judging. See `keyProblems`.
 * - The text sent to Docker is canonical (see `canonicalYaml`): block mappings and sequences, every
 *   string double-quoted with everything outside printable ASCII escaped, keys plain only when made
 *   of letters, digits, `_`, `.`, `/`, `-` and no reader takes them for another type (quoted
 *   otherwise), numbers in decimal, no anchors, aliases, merge keys or tags.
 */

/** A YAML schema's implicit scalar types: the texts a plain scalar cannot have and stay a string. */
function implicitTests(version: '1.1' | '1.2'): RegExp[] {
  const tags = new Document(null, { version }).schema.tags;
  return tags.flatMap((tag) => {
    const test = 'test' in tag ? tag.test : undefined;
    return test instanceof RegExp && tag.tag !== 'tag:yaml.org,2002:str' ? [test] : [];
  });
}

const NOT_STRINGS = [...implicitTests('1.1'), ...implicitTests('1.2')];
const PRINTABLE_ASCII = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** How a YAML 1.1 or YAML 1.2 reader takes a plain scalar with this text, when not as a string. */
export function readsAsNonString(text: string): boolean {
  return NOT_STRINGS.some((test) => test.test(text));
}

export interface KeyProblem {
  line: number | undefined;
  message: string;
}

/** A code point named for a message: `U+2028 (line separator)`. */
function describeCharacter(char: string): string {
  const code = char.codePointAt(0) as number;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  const names: Record<number, string> = {
    0x09: 'tab',
    0x0a: 'line feed',
    0x0d: 'carriage return',
    0x20: 'space',
    0x7f: 'delete',
    0x85: 'next line (NEL)',
    0xa0: 'no-break space',
    0x2028: 'line separator',
    0x2029: 'paragraph separator',
    0xfeff: 'byte order mark',
  };
  const name = names[code] ?? (code < 0x20 || (code >= 0x80 && code < 0xa0) ? 'control character' : 'non-ASCII');
  return `${hex} (${name})`;
}

/** A key for a message: escaped to printable ASCII, so a message never carries a line break or a control character. */
function showKey(text: string): string {
  return /[\ud800-\udfff]/.test(text) ? JSON.stringify(text) : quoteString(text);
}

/** Why one key is not plain, or undefined when it is. */
function keyProblem(key: unknown): string | undefined {
  if (key === null || key === undefined) return 'a key is empty';
  if (isAlias(key)) return `a key is an alias (*${key.source})`;
  if (isCollection(key)) return 'a key is a mapping or a sequence';
  if (!isScalar(key)) return 'a key is not a plain string';
  const scalar = key as Scalar;
  const text = typeof scalar.value === 'string' ? scalar.value : (scalar.source ?? String(scalar.value));
  if (text === '<<' || typeof scalar.value === 'symbol') {
    const plainMerge = typeof scalar.value === 'symbol' && scalar.type === 'PLAIN' && scalar.tag === undefined;
    return plainMerge ? undefined : `the merge key ${showKey(text)} is refused unless written plain as <<`;
  }
  if (scalar.tag !== undefined) return `the key ${showKey(text)} has an explicit tag (${scalar.tag})`;
  if (typeof scalar.value !== 'string') {
    const kind = scalar.value === null ? 'null' : typeof scalar.value === 'number' ? 'a number' : 'a boolean';
    return `the key ${showKey(text)} is ${kind}, not a name`;
  }
  return keyTextProblem(text);
}

/** Why a key's text is not plain (empty, outside printable ASCII, another type to some YAML reader), or undefined. */
export function keyTextProblem(text: string, what = 'the key'): string | undefined {
  if (text === '') return `${what} is empty`;
  if (text === '<<') return `${what} "<<" is a merge key`;
  if (!PRINTABLE_ASCII.test(text)) {
    const bad = [...text].find((char) => !/[\x20-\x7e]/.test(char));
    if (bad === undefined) return `${what} ${showKey(text)} starts or ends with a space`;
    return `${what} ${showKey(text)} contains ${describeCharacter(bad)}; keys are printable ASCII`;
  }
  if (readsAsNonString(text)) {
    return `${what} ${showKey(text)} is not a string for every YAML reader (YAML 1.1 reads it as a boolean, null, number or date)`;
  }
  return undefined;
}

/** Every mapping key of the document that is not plain (anchored parts included), with its line. */
export function keyProblems(doc: Document, lineCounter: LineCounter): KeyProblem[] {
  const problems: KeyProblem[] = [];
  visit(doc, {
    Pair(_key, pair: Pair) {
      const message = keyProblem(pair.key);
      if (message === undefined) return;
      const at = (pair.key as { range?: [number, number, number] } | null)?.range ??
        (pair.value as { range?: [number, number, number] } | null)?.range ?? [undefined];
      const offset = at[0];
      problems.push({ line: offset === undefined ? undefined : lineCounter.linePos(offset).line, message });
    },
  });
  return problems;
}

/** A string as one double-quoted YAML scalar of printable ASCII, read the same by YAML 1.1 and 1.2 readers. */
export function quoteString(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0) as number;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code >= 0x20 && code <= 0x7e) out += char;
    else if (code >= 0xd800 && code <= 0xdfff) {
      throw new ConfigurationError(
        `the string ${JSON.stringify(value)} holds an unpaired surrogate and cannot be written as UTF-8`,
        'stack-file',
      );
    } else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** Plain keys stay plain where no YAML reader can take them for anything but that string. */
const SAFE_PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;

/** A key as written: plain when it is safe plain, double-quoted otherwise. */
export function keyText(key: string): string {
  return SAFE_PLAIN_KEY.test(key) && !readsAsNonString(key) ? key : quoteString(key);
}

function scalarText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return quoteString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '.nan';
    if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
    const text = String(value);
    // YAML 1.1 floats need a dot: 1e+21 is written 1.0e+21.
    return /^-?\d+e/.test(text) ? text.replace('e', '.0e') : text;
  }
  if (typeof value === 'bigint') return value.toString();
  throw new ConfigurationError(`a value of type ${typeof value} cannot be written to the stack`, 'stack-file');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Lines of a value placed under a key or a `- ` at `indent`; the first line is the value's own text. */
function lines(value: unknown, indent: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return ['[]'];
    return ['', ...value.flatMap((item) => entry('- ', item, indent))];
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return ['{}'];
    return ['', ...keys.flatMap((key) => entry(`${keyText(key)}: `, value[key], indent))];
  }
  if (typeof value === 'object' && value !== null) {
    throw new ConfigurationError(
      `a value of type ${value.constructor.name} cannot be written to the stack`,
      'stack-file',
    );
  }
  return [scalarText(value)];
}

/** One mapping entry or sequence item: `prefix` at `indent`, its value inline or indented below. */
function entry(prefix: string, value: unknown, indent: string): string[] {
  const nested = `${indent}  `;
  const [first, ...rest] = lines(value, nested);
  if (first !== '') return [`${indent}${prefix}${first}`, ...rest];
  if (prefix === '- ' && rest.length > 0) {
    // `- "key": value` with the item's other lines aligned under its first key.
    const head = (rest[0] as string).slice(nested.length);
    return [`${indent}- ${head}`, ...rest.slice(1)];
  }
  return [`${indent}${prefix.trimEnd()}`, ...rest];
}

/**
 * The canonical YAML text of plain data (strings, numbers, booleans, null, arrays, plain objects):
 * block style, every string (and every key not safe plain) double-quoted and escaped to printable ASCII, no anchors,
 * aliases, merge keys or tags. A YAML 1.1 reader and a YAML 1.2 reader read back the same data.
 */
export function canonicalYaml(document: Record<string, unknown>): string {
  const [first, ...rest] = lines(document, '');
  if (first !== '') return `${first}\n`;
  return `${rest.join('\n')}\n`;
}
