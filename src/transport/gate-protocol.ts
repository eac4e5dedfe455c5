/**
 * The gate protocol, version 1: how the swarm-deploy action (or the CLI) on a runner speaks to the
 * gate on a manager over one SSH exec. Pure: encoding, parsing and validation only.
 *
 * Request: one JSON object on the gate's stdin, then EOF. Its payloads (the stack file, the files it
 * refers to, env values, secrets) travel inside it, so on stdin only, never in argv.
 *
 * Response: JSON lines on the gate's stdout, one event a line, the last one `end`. A stream that
 * ends without `end` is a failure, never a success.
 */
import { ConfigurationError } from '../core/errors.js';
import type { Annotation } from '../core/log.js';

export const GATE_PROTOCOL_VERSION = 1;

/** A request is bounded: a stack file and the files it refers to are 1 MiB each at most. */
export const MAX_GATE_REQUEST_BYTES = 8 * 1024 * 1024;

export type GateOp = 'deploy' | 'release-lock';

/** The lock the main step took, as the post step saved it. */
export interface GateLock {
  id: string;
  name: string;
}

export interface GateRequest {
  v: typeof GATE_PROTOCOL_VERSION;
  op: GateOp;
  /** The swarm-deploy action's inputs, without the ones that choose how to connect. */
  inputs: Record<string, string>;
  /** Repository-relative path → text: the stack file, the files it refers to, the `configs` files. */
  files: Record<string, string>;
  /** The run that asks (for the lock holder and the release record); informational. */
  context: Record<string, string>;
  /** The lock to release (`release-lock` only). */
  lock: GateLock | null;
}

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'notice';

export type GateEvent =
  | { t: 'log'; level: LogLevel; message: string; properties?: Annotation }
  | { t: 'mask'; value: string }
  | { t: 'output'; name: string; value: string }
  | { t: 'state'; name: string; value: string }
  | { t: 'summary'; markdown: string }
  | { t: 'end'; failure: string | null; configuration: { field: string; message: string } | null };

/** The request's fields that carry no input: refused in `inputs` (they are chosen on the manager). */
export const CONNECTION_INPUTS: readonly string[] = [
  'host',
  'port',
  'user',
  'ssh-key',
  'ssh-key-passphrase',
  'known-hosts',
  'via',
];

/** What the `context` of a request may hold: the run's GitHub variables that name it. */
export const CONTEXT_KEYS: readonly string[] = [
  'GITHUB_SERVER_URL',
  'GITHUB_REPOSITORY',
  'GITHUB_RUN_ID',
  'GITHUB_SHA',
  'GITHUB_ACTOR',
];

/** A request the gate refuses before reading it: a protocol error, not a configuration error. */
export class GateProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GateProtocolError';
  }
}

export const NO_VERDICT = 'the gate ended without a verdict';

export function encodeRequest(request: Omit<GateRequest, 'v'>): string {
  const text = JSON.stringify({ v: GATE_PROTOCOL_VERSION, ...request });
  if (Buffer.byteLength(text) > MAX_GATE_REQUEST_BYTES) {
    throw new ConfigurationError(
      `the deploy request (stack file, the files it refers to, env and secrets) is larger than ${MAX_GATE_REQUEST_BYTES / 1024 / 1024} MiB`,
      'stack-file',
    );
  }
  return text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Only these keys, each present: anything else is refused by name. */
function exactKeys(value: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new GateProtocolError(`${what} has an unknown field "${key}"`);
  }
}

function stringMap(value: unknown, what: string): Record<string, string> {
  if (!isPlainObject(value)) throw new GateProtocolError(`${what} must be an object of strings`);
  const result: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw new GateProtocolError(`${what}."${key}" must be a string`);
    result[key] = item;
  }
  return result;
}

/** Reads and validates a request; every refusal names what is wrong. */
export function parseRequest(text: string): GateRequest {
  if (Buffer.byteLength(text) > MAX_GATE_REQUEST_BYTES) {
    throw new GateProtocolError(`the request is larger than ${MAX_GATE_REQUEST_BYTES / 1024 / 1024} MiB`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new GateProtocolError(`the request is not JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(value)) throw new GateProtocolError('the request must be a JSON object');
  if (value.v !== GATE_PROTOCOL_VERSION) {
    throw new GateProtocolError(
      `unsupported protocol version ${JSON.stringify(value.v)}: this gate speaks version ${GATE_PROTOCOL_VERSION}`,
    );
  }
  exactKeys(value, ['v', 'op', 'inputs', 'files', 'context', 'lock'], 'the request');
  if (value.op !== 'deploy' && value.op !== 'release-lock') {
    throw new GateProtocolError(`unknown op ${JSON.stringify(value.op)}: expected deploy or release-lock`);
  }
  const inputs = stringMap(value.inputs ?? {}, 'inputs');
  const files = stringMap(value.files ?? {}, 'files');
  const context = stringMap(value.context ?? {}, 'context');
  for (const key of Object.keys(context)) {
    if (!CONTEXT_KEYS.includes(key)) throw new GateProtocolError(`context has an unknown field "${key}"`);
  }
  let lock: GateLock | null = null;
  if (value.lock !== undefined && value.lock !== null) {
    const raw = stringMap(value.lock, 'lock');
    exactKeys(raw, ['id', 'name'], 'lock');
    if (raw.id === undefined || raw.name === undefined) throw new GateProtocolError('lock must have an id and a name');
    lock = { id: raw.id, name: raw.name };
  }
  if (value.op === 'release-lock' && lock === null) throw new GateProtocolError('release-lock needs the lock');
  if (value.op === 'deploy' && lock !== null) throw new GateProtocolError('deploy takes no lock');
  return { v: GATE_PROTOCOL_VERSION, op: value.op, inputs, files, context, lock };
}

export function encodeEvent(event: GateEvent): string {
  return `${JSON.stringify(event)}\n`;
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warning', 'error', 'notice'];

function annotation(value: unknown): Annotation | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw new GateProtocolError('log properties must be an object');
  exactKeys(value, ['file', 'startLine', 'title'], 'log properties');
  const result: Annotation = {};
  if (value.file !== undefined) {
    if (typeof value.file !== 'string') throw new GateProtocolError('log properties: file must be a string');
    result.file = value.file;
  }
  if (value.startLine !== undefined) {
    if (!Number.isInteger(value.startLine)) throw new GateProtocolError('log properties: startLine must be a number');
    result.startLine = value.startLine as number;
  }
  if (value.title !== undefined) {
    if (typeof value.title !== 'string') throw new GateProtocolError('log properties: title must be a string');
    result.title = value.title;
  }
  return result;
}

function text(value: Record<string, unknown>, key: string, what: string): string {
  const item = value[key];
  if (typeof item !== 'string') throw new GateProtocolError(`${what}: "${key}" must be a string`);
  return item;
}

/** Reads one line of the gate's response; a line that is not a known event is refused. */
export function parseEvent(line: string): GateEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new GateProtocolError(`the gate answered a line that is not JSON: ${JSON.stringify(line.slice(0, 200))}`);
  }
  if (!isPlainObject(value)) throw new GateProtocolError('the gate answered a line that is not an object');
  const what = `a "${String(value.t)}" event`;
  switch (value.t) {
    case 'log': {
      exactKeys(value, ['t', 'level', 'message', 'properties'], what);
      const level = value.level as LogLevel;
      if (!LEVELS.includes(level)) throw new GateProtocolError(`${what}: unknown level ${JSON.stringify(level)}`);
      const properties = annotation(value.properties);
      return { t: 'log', level, message: text(value, 'message', what), ...(properties ? { properties } : {}) };
    }
    case 'mask':
      exactKeys(value, ['t', 'value'], what);
      return { t: 'mask', value: text(value, 'value', what) };
    case 'output':
    case 'state':
      exactKeys(value, ['t', 'name', 'value'], what);
      return { t: value.t, name: text(value, 'name', what), value: text(value, 'value', what) };
    case 'summary':
      exactKeys(value, ['t', 'markdown'], what);
      return { t: 'summary', markdown: text(value, 'markdown', what) };
    case 'end': {
      exactKeys(value, ['t', 'failure', 'configuration'], what);
      if (value.failure !== null && typeof value.failure !== 'string') {
        throw new GateProtocolError(`${what}: "failure" must be a string or null`);
      }
      let configuration: { field: string; message: string } | null = null;
      if (value.configuration !== null && value.configuration !== undefined) {
        if (!isPlainObject(value.configuration)) throw new GateProtocolError(`${what}: bad "configuration"`);
        exactKeys(value.configuration, ['field', 'message'], `${what} configuration`);
        configuration = {
          field: text(value.configuration, 'field', what),
          message: text(value.configuration, 'message', what),
        };
      }
      return { t: 'end', failure: value.failure, configuration };
    }
    default:
      throw new GateProtocolError(`the gate answered an unknown event ${JSON.stringify(value.t)}`);
  }
}

/**
 * Reads a response line by line. `verdict()` is the `end` event, or a failure ("the gate ended
 * without a verdict") when the stream stopped before it; a line after `end` is refused too.
 */
export class ResponseReader {
  private ended: Extract<GateEvent, { t: 'end' }> | undefined;
  private broken: string | undefined;

  constructor(private readonly onEvent: (event: Exclude<GateEvent, { t: 'end' }>) => void) {}

  push(line: string): void {
    if (this.broken !== undefined || line.trim() === '') return;
    try {
      if (this.ended) throw new GateProtocolError('the gate wrote after its verdict');
      const event = parseEvent(line);
      if (event.t === 'end') this.ended = event;
      else this.onEvent(event);
    } catch (error) {
      this.broken = (error as Error).message;
      this.ended = undefined;
    }
  }

  verdict(): { failure: string | null; configuration: { field: string; message: string } | null } {
    if (this.broken !== undefined)
      return { failure: `The gate's answer is not readable: ${this.broken}`, configuration: null };
    if (!this.ended) return { failure: `The deploy failed: ${NO_VERDICT}`, configuration: null };
    return { failure: this.ended.failure, configuration: this.ended.configuration };
  }
}
