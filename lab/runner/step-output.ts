/**
 * What GitHub's runner does with a step's output: workflow commands read from every line of stdout
 * and stderr, masks applied to every later line, and the file commands (GITHUB_OUTPUT, GITHUB_ENV,
 * GITHUB_STATE, GITHUB_PATH) read after the step. The rules follow the runner's own source
 * (actions/runner: ActionCommand.cs, ActionCommandManager.cs, FileCommandManager.cs, SecretMasker).
 * One parser for the process harness and the in-process harness, so both see what GitHub would.
 */

export type AnnotationLevel = 'error' | 'warning' | 'notice';

export interface StepAnnotation {
  level: AnnotationLevel;
  message: string;
  file?: string;
  line?: number;
  endLine?: number;
  col?: number;
  endColumn?: number;
  title?: string;
}

export interface WorkflowCommand {
  name: string;
  properties: Record<string, string>;
  data: string;
}

/** The commands the runner registers; any other `::name::` line is plain text. */
export const RUNNER_COMMANDS = [
  'add-mask',
  'add-matcher',
  'add-path',
  'debug',
  'echo',
  'endgroup',
  'error',
  'group',
  'notice',
  'remove-matcher',
  'save-state',
  'set-env',
  'set-output',
  'stop-commands',
  'warning',
] as const;

const DATA_ESCAPES: [string, string][] = [
  ['%0D', '\r'],
  ['%0A', '\n'],
  ['%25', '%'],
];
const PROPERTY_ESCAPES: [string, string][] = [
  ['%0D', '\r'],
  ['%0A', '\n'],
  ['%3A', ':'],
  ['%2C', ','],
  ['%25', '%'],
];
// The legacy `##[name key=value;…]data` form has its own table.
const LEGACY_ESCAPES: [string, string][] = [
  ['%3B', ';'],
  ['%0D', '\r'],
  ['%0A', '\n'],
  ['%5D', ']'],
  ['%25', '%'],
];

/** The runner replaces each escape in table order, `%25` last (so `%250A` stays `%0A`). */
function unescapeWith(text: string, table: [string, string][]): string {
  let result = text;
  for (const [escaped, plain] of table) result = result.split(escaped).join(plain);
  return result;
}

/** `::name k=v,k=v::data` (leading spaces allowed), as ActionCommand.TryParseV2 reads it. */
export function parseCommandLine(line: string, registered: ReadonlySet<string>): WorkflowCommand | undefined {
  const message = line.trimStart();
  if (!message.startsWith('::')) return parseLegacyCommandLine(line, registered);
  const end = message.indexOf('::', 2);
  if (end < 0) return parseLegacyCommandLine(line, registered);
  const parsed = commandInfo(message.slice(2, end), ',', PROPERTY_ESCAPES, registered);
  if (parsed === undefined) return parseLegacyCommandLine(line, registered);
  return { ...parsed, data: unescapeWith(message.slice(end + 2), DATA_ESCAPES) };
}

/** `##[name k=v;k=v]data` anywhere in the line (ActionCommand.TryParse, still honoured by the runner). */
function parseLegacyCommandLine(line: string, registered: ReadonlySet<string>): WorkflowCommand | undefined {
  const prefix = line.indexOf('##[');
  if (prefix < 0) return undefined;
  const close = line.indexOf(']', prefix);
  if (close < 0) return undefined;
  const parsed = commandInfo(line.slice(prefix + 3, close), ';', LEGACY_ESCAPES, registered);
  if (parsed === undefined) return undefined;
  return { ...parsed, data: unescapeWith(line.slice(close + 1), LEGACY_ESCAPES) };
}

/** `name k=v<sep>k=v`: the command's name (undefined unless registered) and its properties. */
function commandInfo(
  info: string,
  separator: string,
  escapes: [string, string][],
  registered: ReadonlySet<string>,
): Omit<WorkflowCommand, 'data'> | undefined {
  const space = info.indexOf(' ');
  const name = (space < 0 ? info : info.slice(0, space)).toLowerCase();
  if (!registered.has(name)) return undefined;
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const entry of info
      .slice(space + 1)
      .trim()
      .split(separator)) {
      const eq = entry.indexOf('=');
      // The runner splits on the first `=` and drops empty parts: `k=` and `=v` set nothing.
      if (eq > 0 && eq < entry.length - 1) properties[entry.slice(0, eq)] = unescapeWith(entry.slice(eq + 1), escapes);
    }
  }
  return { name, properties };
}

/**
 * The runner's secret masker: every registered value (and the encoded forms the runner also
 * registers) is replaced by `***`; overlapping matches merge into one.
 */
export class SecretMasker {
  private readonly values = new Set<string>();

  get size(): number {
    return this.values.size;
  }

  /** Registered values, as given (encoded variants left out). */
  list(): string[] {
    return [...this.values];
  }

  add(value: string): void {
    if (value === '') return;
    this.values.add(value);
  }

  private patterns(): string[] {
    const all = new Set<string>();
    for (const value of this.values) {
      all.add(value);
      // A few of the runner's value encoders: a secret printed JSON- or URL-escaped is masked too.
      all.add(JSON.stringify(value).slice(1, -1));
      all.add(encodeURIComponent(value));
    }
    return [...all].filter((p) => p !== '');
  }

  mask(line: string): string {
    if (this.values.size === 0 || line === '') return line;
    const ranges: [number, number][] = [];
    for (const pattern of this.patterns()) {
      for (let at = line.indexOf(pattern); at >= 0; at = line.indexOf(pattern, at + 1)) {
        ranges.push([at, at + pattern.length]);
      }
    }
    if (ranges.length === 0) return line;
    ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    let result = '';
    let cursor = 0;
    let current: [number, number] | undefined;
    for (const range of ranges) {
      if (current && range[0] <= current[1]) {
        current[1] = Math.max(current[1], range[1]);
        continue;
      }
      if (current) {
        result += `${line.slice(cursor, current[0])}***`;
        cursor = current[1];
      }
      current = [range[0], range[1]];
    }
    if (current) {
      result += `${line.slice(cursor, current[0])}***`;
      cursor = current[1];
    }
    return result + line.slice(cursor);
  }
}

export interface StepOutputOptions {
  /** Values masked from the start (the workflow's secrets); each line of a multi-line value too. */
  secrets?: readonly string[];
  /** ACTIONS_STEP_DEBUG: `::debug::` lines are shown as `##[debug]…`. */
  debug?: boolean;
  /** Each displayed line as it is produced. */
  onLine?: (line: string) => void;
}

/**
 * Reads a step's output line by line as the runner's OutputManager and ActionCommandManager do,
 * and keeps what the run page would show. A value printed before `::add-mask::` registered it is
 * shown in clear on GitHub: such values are recorded in `leaks`.
 */
export class StepOutput {
  readonly log: string[] = [];
  readonly annotations: StepAnnotation[] = [];
  readonly masker = new SecretMasker();
  readonly leaks: string[] = [];
  /** From the deprecated `::set-output` / `::save-state` commands. */
  readonly commandOutputs: Record<string, string> = {};
  readonly commandState: Record<string, string> = {};
  /** The runner marks the step failed when a command cannot be processed. */
  commandFailed = false;

  private readonly registered = new Set<string>(RUNNER_COMMANDS);
  /** Everything displayed so far, as displayed (masked with the masks of its moment). */
  private readonly shown: string[] = [];
  private stopToken: string | undefined;
  private echo = false;
  private readonly debug: boolean;
  private readonly onLine: ((line: string) => void) | undefined;

  constructor(options: StepOutputOptions = {}) {
    this.debug = options.debug ?? false;
    this.onLine = options.onLine;
    for (const secret of options.secrets ?? []) this.addSecret(secret);
  }

  get masks(): string[] {
    return this.masker.list();
  }

  /** As the runner registers a job's secrets: the trimmed value, and each of its lines. */
  addSecret(value: string): void {
    const trimmed = value.trim();
    if (trimmed === '') return;
    this.masker.add(trimmed);
    for (const line of trimmed.split(/[\r\n]+/)) if (line.trim() !== '') this.masker.add(line.trim());
  }

  /** One line of the step's stdout or stderr (without its line break). */
  line(raw: string): void {
    if (raw !== '' && (raw.includes('::') || raw.includes('##['))) {
      const command = parseCommandLine(raw, this.registered);
      if (command !== undefined && this.process(raw, command)) return;
    }
    this.show(raw);
  }

  private show(text: string): void {
    // The runner neutralises its own step markers in user output.
    const clean = text.replace(/##\[(start|end)-action/g, '##[\\$1-action');
    const masked = this.masker.mask(clean);
    this.shown.push(masked);
    this.log.push(masked);
    this.onLine?.(masked);
  }

  /** An annotation the runner itself adds (an unexpected input, a malformed output file). */
  runnerAnnotation(level: AnnotationLevel, message: string): void {
    this.annotate({ level, message });
  }

  private warn(message: string): void {
    this.annotate({ level: 'warning', message });
  }

  private annotate(annotation: StepAnnotation): void {
    const masked = { ...annotation, message: this.masker.mask(annotation.message) };
    if (masked.title !== undefined) masked.title = this.masker.mask(masked.title);
    this.shown.push(masked.message, masked.title ?? '');
    this.annotations.push(masked);
    const line = `##[${annotation.level}]${masked.message}`;
    this.log.push(line);
    this.onLine?.(line);
  }

  /** Returns false when the line is to be shown as text (commands are stopped). */
  private process(raw: string, command: WorkflowCommand): boolean {
    if (this.stopToken !== undefined) {
      if (command.name === this.stopToken.toLowerCase()) {
        this.registered.delete(this.stopToken.toLowerCase());
        this.stopToken = undefined;
        this.show(raw);
        return true;
      }
      return false;
    }
    if (command.name === 'stop-commands') {
      const token = command.data;
      if (token === '' || this.registered.has(token.toLowerCase()) || token.toLowerCase() === 'pause-logging') {
        this.fail(raw, `the stop-commands token "${token}" is empty or a command name; the runner refuses it`);
        return true;
      }
      this.stopToken = token;
      this.registered.add(token.toLowerCase());
      // A long token could be guessed from the log and used to resume: the runner masks it.
      if (token.length > 6) this.masker.add(token);
      this.show(raw);
      return true;
    }
    const omitEcho = ['add-mask', 'debug', 'error', 'warning', 'notice'].includes(command.name);
    if (this.echo && !omitEcho) this.show(raw);
    switch (command.name) {
      case 'add-mask':
        return this.addMask(command.data);
      case 'debug':
        if (this.debug) this.show(`##[debug]${command.data}`);
        return true;
      case 'error':
      case 'warning':
      case 'notice':
        this.annotate(issue(command.name, command));
        return true;
      case 'group':
        this.show(`##[group]${command.data}`);
        return true;
      case 'endgroup':
        this.show('##[endgroup]');
        return true;
      case 'echo': {
        const value = command.data.trim().toLowerCase();
        if (value === 'on' || value === 'off') this.echo = value === 'on';
        else this.fail(raw, `Invalid echo command value. Possible values can be: 'on', 'off'.`);
        return true;
      }
      case 'set-output':
      case 'save-state': {
        const name = command.properties.name;
        if (!name) {
          this.fail(raw, `Required field 'name' is missing in ##[${command.name}] command.`);
          return true;
        }
        this.warn(
          `The \`${command.name}\` command is deprecated and will be disabled soon. Please upgrade to using Environment Files.`,
        );
        (command.name === 'set-output' ? this.commandOutputs : this.commandState)[name] = command.data;
        return true;
      }
      case 'set-env':
      case 'add-path':
        this.fail(
          raw,
          `The \`${command.name}\` command is disabled. Please upgrade to using Environment Files or opt into unsecure command execution by setting the \`ACTIONS_ALLOW_UNSECURE_COMMANDS\` environment variable to \`true\`.`,
        );
        return true;
      default:
        // add-matcher / remove-matcher: problem matchers are not modelled; the line is consumed.
        return true;
    }
  }

  private addMask(value: string): boolean {
    if (value.trim() === '') {
      this.warn("Can't add secret mask for empty string in ##[add-mask] command.");
      return true;
    }
    const values = [value, ...value.split(/[\r\n]+/).map((l) => l.trim())].filter((v) => v !== '');
    for (const v of values) {
      if (!this.leaks.includes(v) && this.shown.some((text) => text.includes(v))) this.leaks.push(v);
      this.masker.add(v);
    }
    if (this.echo) this.show('::add-mask::***');
    return true;
  }

  private fail(raw: string, reason: string): void {
    this.commandFailed = true;
    this.annotate({ level: 'error', message: `Unable to process command '${raw}' successfully.` });
    this.annotate({ level: 'error', message: reason });
  }
}

function issue(level: AnnotationLevel, command: WorkflowCommand): StepAnnotation {
  const p = command.properties;
  const number = (key: string) => {
    const value = p[key];
    return value !== undefined && /^-?\d+$/.test(value) ? Number(value) : undefined;
  };
  let line = number('line');
  let endLine = number('endLine');
  let col = number('col');
  let endColumn = number('endColumn');
  // IssueCommandExtension.ValidateLinesAndColumns, rule by rule.
  const hasColumn = col !== undefined || endColumn !== undefined;
  if (endLine !== undefined && line === undefined) line = endLine;
  if (endColumn !== undefined && col === undefined) col = endColumn;
  const dropColumns = () => {
    col = undefined;
    endColumn = undefined;
  };
  if (line === undefined && hasColumn) dropColumns();
  if (endLine !== undefined && line !== endLine && hasColumn) dropColumns();
  if (line !== undefined && endLine !== undefined && endLine < line) {
    line = undefined;
    endLine = undefined;
  }
  if (col !== undefined && endColumn !== undefined && endColumn < col) dropColumns();
  const annotation: StepAnnotation = { level, message: command.data };
  if (p.file !== undefined) annotation.file = p.file;
  if (p.title !== undefined) annotation.title = p.title;
  if (line !== undefined) annotation.line = line;
  if (endLine !== undefined) annotation.endLine = endLine;
  if (col !== undefined) annotation.col = col;
  if (endColumn !== undefined) annotation.endColumn = endColumn;
  return annotation;
}

/** Splits a byte stream into lines as they arrive (a trailing partial line waits for more). */
export class LineSplitter {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  end(): void {
    if (this.rest !== '') this.onLine(this.rest.endsWith('\r') ? this.rest.slice(0, -1) : this.rest);
    this.rest = '';
  }
}

/**
 * GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STATE content: `NAME=value` lines and `NAME<<DELIMITER`
 * heredocs (FileCommandManager's EnvFileKeyValuePairs). Throws the runner's message on a bad file.
 */
export function parseKeyValueFile(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  let index = 0;
  const readLine = (): { line: string; newline: boolean } | undefined => {
    if (index >= text.length) return undefined;
    const lf = text.indexOf('\n', index);
    if (lf < 0) {
      const line = text.slice(index);
      index = text.length;
      return { line, newline: false };
    }
    const line = text.slice(index, lf);
    index = lf + 1;
    return { line, newline: true };
  };
  for (let next = readLine(); next !== undefined; next = readLine()) {
    const { line } = next;
    if (line === '') continue;
    const equals = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (equals >= 0 && (heredoc < 0 || equals < heredoc)) {
      // The runner checks the line, not the name: `=value` yields an empty name.
      pairs.push([line.slice(0, equals), line.slice(equals + 1)]);
    } else if (heredoc >= 0) {
      const name = line.slice(0, heredoc);
      const delimiter = line.slice(heredoc + 2);
      if (name === '' || delimiter === '') {
        throw new Error(`Invalid format '${line}'. Name must not be empty and delimiter must not be empty`);
      }
      const start = index;
      let end = index;
      for (;;) {
        const value = readLine();
        if (value === undefined) throw new Error(`Invalid value. Matching delimiter not found '${delimiter}'`);
        if (value.line === delimiter) break;
        if (!value.newline) throw new Error('Invalid value. EOF marker missing new line.');
        end = index - 1;
      }
      pairs.push([name, end > start ? text.slice(start, end) : '']);
    } else {
      throw new Error(`Invalid format '${line}'`);
    }
  }
  return pairs;
}

/** GITHUB_PATH: one directory a line. */
export function parsePathFile(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line.trim() !== '');
}
