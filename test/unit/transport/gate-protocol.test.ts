import { describe, expect, it } from 'vitest';
import {
  encodeEvent,
  encodeRequest,
  GateProtocolError,
  MAX_GATE_REQUEST_BYTES,
  NO_VERDICT,
  parseEvent,
  parseRequest,
  ResponseReader,
  type GateEvent,
} from '../../../src/transport/gate-protocol.js';

const REQUEST = {
  op: 'deploy' as const,
  inputs: { client: 'acme', 'stack-file': 'stack.yml' },
  files: { 'stack.yml': 'services: {}\n' },
  context: { GITHUB_ACTOR: 'octocat' },
  lock: null,
};

function refusal(text: string): string {
  try {
    parseRequest(text);
  } catch (error) {
    expect(error).toBeInstanceOf(GateProtocolError);
    return (error as Error).message;
  }
  throw new Error('the request was accepted');
}

describe('gate protocol v1: the request', () => {
  it('reads back what was encoded', () => {
    expect(parseRequest(encodeRequest(REQUEST))).toEqual({ v: 1, ...REQUEST });
  });

  it('refuses text that is not JSON, or not an object', () => {
    expect(refusal('{"v":1,')).toMatch(/^the request is not JSON/);
    expect(refusal('[1]')).toBe('the request must be a JSON object');
  });

  it('refuses another version, naming it', () => {
    expect(refusal(JSON.stringify({ ...REQUEST, v: 2 }))).toBe(
      'unsupported protocol version 2: this gate speaks version 1',
    );
    expect(refusal(JSON.stringify(REQUEST))).toMatch(/^unsupported protocol version undefined/);
  });

  it('refuses an unknown op and unknown fields', () => {
    expect(refusal(JSON.stringify({ ...REQUEST, v: 1, op: 'shell' }))).toBe(
      'unknown op "shell": expected deploy or release-lock',
    );
    expect(refusal(JSON.stringify({ ...REQUEST, v: 1, command: 'sh' }))).toBe(
      'the request has an unknown field "command"',
    );
    expect(refusal(JSON.stringify({ ...REQUEST, v: 1, context: { LD_PRELOAD: '/x' } }))).toBe(
      'context has an unknown field "LD_PRELOAD"',
    );
    expect(refusal(JSON.stringify({ ...REQUEST, v: 1, inputs: { client: 3 } }))).toBe(
      'inputs."client" must be a string',
    );
  });

  it('asks release-lock for its lock, and deploy for none', () => {
    expect(refusal(JSON.stringify({ ...REQUEST, v: 1, op: 'release-lock' }))).toBe('release-lock needs the lock');
    expect(refusal(JSON.stringify({ ...REQUEST, v: 1, lock: { id: 'a', name: 'sdl.acme' } }))).toBe(
      'deploy takes no lock',
    );
    expect(refusal(JSON.stringify({ ...REQUEST, v: 1, op: 'release-lock', lock: { id: 'a' } }))).toBe(
      'lock must have an id and a name',
    );
  });

  it('is bounded: an oversized request is refused on both sides', () => {
    const big = { ...REQUEST, files: { 'stack.yml': 'x'.repeat(MAX_GATE_REQUEST_BYTES) } };
    expect(() => encodeRequest(big)).toThrow(/larger than 8 MiB/);
    expect(refusal(JSON.stringify({ v: 1, ...big }))).toBe('the request is larger than 8 MiB');
  });
});

describe('gate protocol v1: the answer', () => {
  const events: GateEvent[] = [
    { t: 'log', level: 'error', message: 'bad', properties: { file: 'stack.yml', startLine: 3, title: 'Stack file' } },
    { t: 'mask', value: 's3cret' },
    { t: 'output', name: 'status', value: 'deployed' },
    { t: 'state', name: 'lock', value: '{"id":"x","name":"sdl.acme"}' },
    { t: 'summary', markdown: '## done' },
    { t: 'end', failure: null, configuration: null },
  ];

  it('reads back every event that was encoded, one line each', () => {
    for (const event of events) {
      const line = encodeEvent(event);
      expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
      expect(parseEvent(line)).toEqual(event);
    }
  });

  it('refuses unknown events, levels and fields', () => {
    expect(() => parseEvent('{"t":"exec","argv":["sh"]}')).toThrow('the gate answered an unknown event "exec"');
    expect(() => parseEvent('{"t":"log","level":"fatal","message":"x"}')).toThrow('unknown level "fatal"');
    expect(() => parseEvent('{"t":"mask","value":"x","extra":1}')).toThrow('has an unknown field "extra"');
    expect(() => parseEvent('::error::not json')).toThrow('not JSON');
  });

  function read(lines: string[]) {
    const seen: GateEvent[] = [];
    const reader = new ResponseReader((event) => seen.push(event));
    for (const line of lines) reader.push(line);
    return { seen, verdict: reader.verdict() };
  }

  it('hands over every event before the end, and the end as the verdict', () => {
    const { seen, verdict } = read(events.map((e) => encodeEvent(e).trimEnd()));
    expect(seen).toEqual(events.slice(0, -1));
    expect(verdict).toEqual({ failure: null, configuration: null });
  });

  it('counts a stream that stops before its end as a failure, never a success', () => {
    const { verdict } = read(events.slice(0, -1).map((e) => encodeEvent(e).trimEnd()));
    expect(verdict.failure).toBe(`The deploy failed: ${NO_VERDICT}`);
    expect(read([]).verdict.failure).toBe(`The deploy failed: ${NO_VERDICT}`);
  });

  it('counts a broken line, or a line after the end, as a failure', () => {
    const end = encodeEvent({ t: 'end', failure: null, configuration: null }).trimEnd();
    expect(read(['not json', end]).verdict.failure).toMatch(/^The gate's answer is not readable: /);
    expect(read([end, end]).verdict.failure).toBe(
      "The gate's answer is not readable: the gate wrote after its verdict",
    );
  });
});
