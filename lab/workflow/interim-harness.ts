/**
 * TEMPORARY: stands in for lab/runner/action-host.ts until that harness is merged; deleted then.
 * Same interface (runActionStep) plus the workflow-command and file-command parsing that `run:`
 * steps share with action steps.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';

export interface ActionStepOptions {
  action: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
  workspace?: string;
  github?: {
    sha?: string;
    ref?: string;
    repository?: string;
    actor?: string;
    runId?: string;
    eventName?: string;
    event?: unknown;
    serverUrl?: string;
    job?: string;
    workflow?: string;
  };
  phase?: 'main' | 'post';
  state?: Record<string, string>;
  secrets?: string[];
  node?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

export interface Annotation {
  level: string;
  message: string;
  file?: string;
  line?: string;
  title?: string;
}

export interface ActionStepResult {
  exitCode: number | null;
  outcome: 'success' | 'failure' | 'cancelled';
  outputs: Record<string, string>;
  state: Record<string, string>;
  env: Record<string, string>;
  path: string[];
  summary: string;
  log: string[];
  annotations: Annotation[];
  masks: string[];
  leaks: string[];
  durationMs: number;
}

/** `name=value` lines and `name<<DELIMITER` … `DELIMITER` blocks of GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE. */
export function parseKeyValueFile(content: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const heredoc = /^([^=]+?)<<(.+)$/.exec(line);
    if (heredoc && !line.slice(0, line.indexOf('<<')).includes('=')) {
      const [, name = '', delimiter = ''] = heredoc;
      const body: string[] = [];
      let closed = false;
      for (i += 1; i < lines.length; i++) {
        if (lines[i] === delimiter) {
          closed = true;
          break;
        }
        body.push(lines[i] ?? '');
      }
      if (!closed) throw new Error(`unterminated ${name}<<${delimiter} block`);
      values[name] = body.join('\n');
      continue;
    }
    const equals = line.indexOf('=');
    if (equals <= 0) throw new Error(`invalid line "${line}"`);
    values[line.slice(0, equals)] = line.slice(equals + 1);
  }
  return values;
}

function unescapeData(s: string): string {
  return s.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
}
function unescapeProperty(s: string): string {
  return unescapeData(s).replace(/%3A/gi, ':').replace(/%2C/gi, ',');
}

/** Reads a step's stdout as the runner does: workflow commands, masks from their line on. */
export class CommandReader {
  readonly masks: string[] = [];
  readonly annotations: Annotation[] = [];
  readonly outputs: Record<string, string> = {};
  private stopToken: string | undefined;

  constructor(secrets: readonly string[] = []) {
    for (const secret of secrets) this.addMask(secret);
  }

  addMask(value: string): void {
    for (const part of [value, ...value.split(/\r?\n/)]) {
      if (part.trim() !== '' && !this.masks.includes(part)) this.masks.push(part);
    }
    this.masks.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const mask of this.masks) out = out.split(mask).join('***');
    return out;
  }

  /** One line of output; returns the line as the log shows it, or undefined for a hidden command. */
  line(raw: string): string | undefined {
    if (this.stopToken !== undefined) {
      if (raw.trim() === `::${this.stopToken}::`) {
        this.stopToken = undefined;
        return undefined;
      }
      return this.redact(raw);
    }
    const command = /^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$/.exec(raw.trimEnd());
    if (!command) return this.redact(raw);
    const [, name = '', props = '', data = ''] = command;
    const properties: Record<string, string> = {};
    for (const pair of props.split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 0) properties[pair.slice(0, eq).trim()] = unescapeProperty(pair.slice(eq + 1));
    }
    const message = unescapeData(data);
    switch (name) {
      case 'add-mask':
        this.addMask(message);
        return undefined;
      case 'stop-commands':
        this.stopToken = message;
        return undefined;
      case 'error':
      case 'warning':
      case 'notice': {
        const annotation: Annotation = { level: name, message: this.redact(message) };
        if (properties.file) annotation.file = properties.file;
        if (properties.line) annotation.line = properties.line;
        if (properties.title) annotation.title = properties.title;
        this.annotations.push(annotation);
        return `${name}: ${annotation.message}`;
      }
      case 'debug':
        return undefined;
      case 'group':
        return `▸ ${this.redact(message)}`;
      case 'endgroup':
        return undefined;
      case 'set-output':
        if (properties.name) this.outputs[properties.name] = message;
        return undefined;
      default:
        return this.redact(raw);
    }
  }
}

/** Runs a process, feeding each stdout/stderr line to a reader; resolves with the exit code. */
export function runProcess(
  argv: string[],
  options: {
    cwd: string;
    env: Record<string, string>;
    reader: CommandReader;
    onLine?: (line: string) => void;
    log: string[];
    signal?: AbortSignal;
  },
): Promise<number | null> {
  return new Promise((resolvePromise) => {
    const child = spawn(argv[0] as string, argv.slice(1), {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const feed = (stream: NodeJS.ReadableStream) => {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const shown = options.reader.line(buffered.slice(0, newline).replace(/\r$/, ''));
          buffered = buffered.slice(newline + 1);
          if (shown !== undefined) {
            options.log.push(shown);
            options.onLine?.(shown);
          }
        }
      });
      stream.on('end', () => {
        if (buffered !== '') {
          const shown = options.reader.line(buffered);
          if (shown !== undefined) {
            options.log.push(shown);
            options.onLine?.(shown);
          }
        }
      });
    };
    feed(child.stdout);
    feed(child.stderr);
    child.on('error', (error) => {
      options.log.push(`error: ${error.message}`);
      resolvePromise(null);
    });
    child.on('close', (code) => resolvePromise(code));
  });
}

/** The files a step writes its outputs, env, path, summary and state to. */
export function createFileCommands(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of ['GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_PATH', 'GITHUB_STEP_SUMMARY', 'GITHUB_STATE']) {
    const path = join(dir, `${name.toLowerCase()}_${randomUUID()}`);
    writeFileSync(path, '');
    files[name] = path;
  }
  return files;
}

export function readFileCommands(files: Record<string, string>): {
  outputs: Record<string, string>;
  env: Record<string, string>;
  path: string[];
  summary: string;
  state: Record<string, string>;
} {
  const read = (name: string) => (files[name] ? readFileSync(files[name], 'utf8') : '');
  return {
    outputs: parseKeyValueFile(read('GITHUB_OUTPUT')),
    env: parseKeyValueFile(read('GITHUB_ENV')),
    path: read('GITHUB_PATH')
      .split('\n')
      .filter((l) => l.trim() !== ''),
    summary: read('GITHUB_STEP_SUMMARY'),
    state: parseKeyValueFile(read('GITHUB_STATE')),
  };
}

export async function runActionStep(options: ActionStepOptions): Promise<ActionStepResult> {
  const started = Date.now();
  const metadataPath = existsSync(join(options.action, 'action.yml'))
    ? join(options.action, 'action.yml')
    : join(options.action, 'action.yaml');
  const metadata = parse(readFileSync(metadataPath, 'utf8')) as {
    inputs?: Record<string, { default?: unknown }>;
    runs: { main: string; post?: string };
  };
  const entry = options.phase === 'post' ? metadata.runs.post : metadata.runs.main;
  if (!entry) throw new Error(`${metadataPath}: no ${options.phase ?? 'main'} entry`);
  const dir = mkdtempSync(join(tmpdir(), 'action-step-'));
  const files = createFileCommands(dir);
  const env: Record<string, string> = { ...(options.env ?? {}), ...files };
  for (const [name, input] of Object.entries(metadata.inputs ?? {})) {
    const given = options.with?.[name];
    env[`INPUT_${name.toUpperCase()}`] = given ?? (input.default === undefined ? '' : String(input.default));
  }
  for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value;
  const g = options.github ?? {};
  const eventPath = join(dir, 'event.json');
  writeFileSync(eventPath, JSON.stringify(g.event ?? {}));
  Object.assign(env, {
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_WORKSPACE: options.workspace ?? process.cwd(),
    ...(g.sha ? { GITHUB_SHA: g.sha } : {}),
    ...(g.ref ? { GITHUB_REF: g.ref } : {}),
    ...(g.repository ? { GITHUB_REPOSITORY: g.repository } : {}),
    ...(g.actor ? { GITHUB_ACTOR: g.actor } : {}),
    ...(g.runId ? { GITHUB_RUN_ID: g.runId } : {}),
    ...(g.eventName ? { GITHUB_EVENT_NAME: g.eventName } : {}),
    ...(g.serverUrl ? { GITHUB_SERVER_URL: g.serverUrl } : {}),
    ...(g.job ? { GITHUB_JOB: g.job } : {}),
    ...(g.workflow ? { GITHUB_WORKFLOW: g.workflow } : {}),
  });
  const reader = new CommandReader(options.secrets);
  const log: string[] = [];
  const node = options.node ?? process.execPath;
  const exitCode = await runProcess([node, resolve(dirname(metadataPath), entry)], {
    cwd: options.workspace ?? process.cwd(),
    env,
    reader,
    log,
    ...(options.onLine ? { onLine: options.onLine } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const commands = readFileCommands(files);
  rmSync(dir, { recursive: true, force: true });
  return {
    exitCode,
    outcome: exitCode === 0 ? 'success' : 'failure',
    outputs: { ...reader.outputs, ...commands.outputs },
    state: commands.state,
    env: commands.env,
    path: commands.path,
    summary: reader.redact(commands.summary),
    log,
    annotations: reader.annotations,
    masks: reader.masks,
    leaks: [],
    durationMs: Date.now() - started,
  };
}
