import { Document, LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Node as YamlNode, Pair } from 'yaml';
import { ConfigurationError, errorMessage } from '../core/errors.js';
import { StackProblem, interpolateTree, locationText } from './interpolate.js';
import type { Where, YamlPath } from './interpolate.js';
import { imageRefProblem, showValue, validateDomain, validateImageRef } from '../core/names.js';
import { LABELS, type Tenant } from '../core/tenant.js';
import {
  applyDefaultLimits,
  isRecord,
  judgeStack,
  labelEntries,
  namedVolumeMounts,
  objectName,
  platformEntrypoints,
  record,
  serviceNetworks,
  serviceReferences,
  statefulOrderNotice,
  tierConstraint,
  validatePolicySettings,
  volumeReferences,
} from './policy.js';
import type { PolicySettings, Violation } from './policy.js';
import { traefikLabels, validatePort, validateTraefikToken } from './traefik.js';
import { FINGERPRINT_LABEL, stackFingerprint } from './fingerprint.js';
import { canonicalYaml, keyProblems, keyTextProblem } from './canonical.js';
import { mergeEnvironment, readEnvFiles, readReferenced } from './stack-files.js';
import type { StackFileReader } from './stack-files.js';

/**
 * Turns a client's stack file into the exact YAML that `docker stack deploy -c -` receives:
 * variables substituted, policy judged, the client's network joined, safe update settings and
 * release labels added, secrets and configs pointed at their content-versioned Swarm objects.
 * Pure: no docker, no network; the files the stack refers to come through an injected reader.
 */

/** How the files a stack refers to are read (on the runner, from the repository) and named. */
export interface StackFiles {
  read: StackFileReader;
  /** The versioned Swarm name of a config with this content (see versionedName). */
  configName: (key: string, content: string) => string;
}

export interface ReleaseInfo {
  id: string;
  gitSha?: string | undefined;
  runUrl?: string | undefined;
  actor?: string | undefined;
  /** ISO 8601 */
  time: string;
}

export interface RenderOptions {
  tenant: Tenant;
  /** The stack file's path, for messages and annotations. */
  file: string;
  /** The stack file's content. */
  text: string;
  /** The `${IMAGE}` variable (wins over an IMAGE entry in `env`). */
  image?: string | undefined;
  /** Other variables. */
  env: ReadonlyMap<string, string>;
  release: ReleaseInfo;
  /** Logical secret name → versioned Swarm name (see versionedName). */
  secretNames?: ReadonlyMap<string, string> | undefined;
  configNames?: ReadonlyMap<string, string> | undefined;
  /** Reads `env_file` and `configs.<key>.file`; without it, a stack that names a file is refused. */
  files?: StackFiles | undefined;
  policy: PolicySettings;
  /**
   * Whether Swarm itself rolls a failed update back (default true). When false the default
   * `failure_action` is `pause`, so a failed update stays for inspection instead of reverting.
   */
  autoRollback?: boolean | undefined;
}

export interface RenderedService {
  /** As in the stack file. */
  name: string;
  /** `<client>_<name>`, as Swarm names it. */
  fullName: string;
  image: string;
  /** Desired replicas (1 when a replicated service sets none); undefined for global services. */
  replicas?: number;
  /** The update's `monitor` in milliseconds (the stack's own, or the default computed from the healthcheck). */
  monitorMs: number;
  /** Swarm names of the secrets and configs the service uses. */
  secrets: string[];
  configs: string[];
}

export interface RenderedStack {
  /** What goes to `docker stack deploy -c -`. String values have `$` doubled (see toWireYaml). */
  yaml: string;
  /** The rendered document with the real values (no `$` doubling). */
  document: Record<string, unknown>;
  services: RenderedService[];
  /** `<client>-net` */
  network: string;
  /** Default limits applied, reserved labels, and every policy violation in warn mode. */
  warnings: Violation[];
  /** Variables the stack file uses. */
  variables: string[];
  /** The configs whose content came from a file of the repository (`configs.<key>.file`). */
  configFiles: { name: string; content: string; versioned: string }[];
}

/** The policy refused the stack (enforce mode). The message lists every violation with its line. */
export class PolicyError extends ConfigurationError {
  readonly violations: Violation[];

  constructor(file: string, violations: Violation[]) {
    super(refusalText(file, violations), 'stack-file');
    this.violations = violations;
  }
}

function refusalText(file: string, violations: readonly Violation[]): string {
  const list = violations.map((v) => `- ${formatViolation(v)}`).join('\n');
  const count = violations.length === 1 ? '1 violation' : `${violations.length} violations`;
  return `${file} is refused by the cluster policy (${count}):\n${list}`;
}

/**
 * The stack file has structural problems (undeclared networks, volumes, secrets or configs, values
 * without a variable, values of the wrong type...): every one of them with its line, then the
 * policy's refusals of the same file, so one run lists all there is to fix. A single problem alone
 * reads as it always has (`file:line: message`, naming its own input).
 */
export class StackError extends ConfigurationError {
  readonly problems: StackProblem[];
  /** The policy's refusals of the same file (enforce mode). */
  readonly violations: Violation[];

  constructor(file: string, problems: StackProblem[], violations: Violation[]) {
    super(...stackErrorText(file, problems, violations));
    this.problems = problems;
    this.violations = violations;
  }
}

function stackErrorText(file: string, problems: StackProblem[], violations: Violation[]): [string, string] {
  const [only] = problems;
  if (only !== undefined && problems.length === 1 && violations.length === 0)
    return [formatProblem(only), only.field ?? 'stack-file'];
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const list = problems.map((problem) => `- ${formatProblem(problem)}`).join('\n');
  const refused = violations.length === 0 ? '' : `\n${refusalText(file, violations)}`;
  return [`${file} has ${count}:\n${list}${refused}`, 'stack-file'];
}

export function formatProblem(problem: StackProblem): string {
  return `${locationText(problem.where)}: ${problem.reason}`;
}

export function formatViolation(violation: Violation): string {
  const at = violation.line === undefined ? violation.file : `${violation.file}:${violation.line}`;
  return `${at} [${violation.rule}] ${violation.message}`;
}

/** Stack files are small; a bigger one is a mistake or an attack. */
export const MAX_STACK_BYTES = 1024 * 1024;
/** Cap on alias expansion (yaml's toJS counts nested expansions), so a "billion laughs" file is refused at once. */
export const MAX_ALIAS_COUNT = 1000;
/**
 * Cap on the size of the stack once every alias is expanded. The alias count alone lets a few
 * aliases of one large anchored value (a long string, a long list) expand to gigabytes.
 */
export const MAX_EXPANDED_BYTES = 4 * MAX_STACK_BYTES;
export const MIN_MONITOR_MS = 10_000;
/** Docker's healthcheck defaults when a field is not set. */
const HEALTH_INTERVAL_MS = 30_000;
const HEALTH_RETRIES = 3;
/** Swarm service names are DNS labels: at most 63 characters. */
const SERVICE_NAME_MAX = 63;
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const TOP_LEVEL = new Set(['version', 'services', 'networks', 'volumes', 'secrets', 'configs']);

export interface ParsedStack {
  /** Plain data (aliases and merge keys expanded), before variables. */
  data: unknown;
  lineOf: (path: YamlPath) => number | undefined;
}

/**
 * About how many bytes the document holds once its aliases are expanded: each node is measured
 * once (an alias counts its anchor's measure again), so the count takes time linear in the file,
 * whatever the expansion. Stops counting past `limit`.
 */
function expandedSize(doc: Document, limit: number): number {
  // An alias names the last node anchored so before it, in document order: one pass finds them all
  // (yaml's own Alias.resolve walks the whole document for each alias).
  const anchored = new Map<string, unknown>();
  const targets = new Map<unknown, unknown>();
  visit(doc, (_key, node) => {
    if (isAlias(node)) targets.set(node, anchored.get(node.source));
    else if (node !== null && typeof node === 'object' && 'anchor' in node && typeof node.anchor === 'string')
      anchored.set(node.anchor, node);
  });
  const measured = new Map<unknown, number>();
  const measure = (node: unknown, depth: number): number => {
    if (node === null || node === undefined || depth > 1000) return 1;
    const known = measured.get(node);
    if (known !== undefined) return known;
    measured.set(node, limit + 1); // an alias to a node still being measured (a cycle) is too much
    let size: number;
    if (isAlias(node)) size = measure(targets.get(node), depth + 1);
    else if (isScalar(node)) size = String(node.value).length + 1;
    else if (isPair(node)) size = measure(node.key, depth + 1) + measure(node.value, depth + 1);
    else if (isMap(node) || isSeq(node)) {
      size = 2;
      for (const item of node.items as unknown[]) {
        size += measure(item, depth + 1);
        if (size > limit) break;
      }
    } else size = 1;
    measured.set(node, Math.min(size, limit + 1));
    return Math.min(size, limit + 1);
  };
  return measure(doc.contents, 0);
}

/**
 * Parse a stack file keeping positions; YAML errors and alias bombs become ConfigurationErrors,
 * keys that are not plain a PolicyError (rule `plain-key`, with each key's line).
 */
export function parseStack(file: string, text: string): ParsedStack {
  const { keyViolations, ...parsed } = readStack(file, text);
  if (keyViolations.length > 0) throw new PolicyError(file, keyViolations);
  return parsed;
}

/**
 * parseStack, with the keys that are not plain given back as violations rather than thrown, so
 * that they come together with the stack's other problems. They refuse the stack in every policy
 * mode: each is an error.
 */
function readStack(file: string, text: string): ParsedStack & { keyViolations: Violation[] } {
  if (Buffer.byteLength(text) > MAX_STACK_BYTES) {
    throw new ConfigurationError(`${file} is larger than ${MAX_STACK_BYTES / 1024} KiB`, 'stack-file');
  }
  const lineCounter = new LineCounter();
  // Merge keys (`<<: *base`) as compose files use them; YAML 1.2 otherwise, like the docker CLI's parser.
  const doc = parseDocument(text, { lineCounter, merge: true, uniqueKeys: true, prettyErrors: false });
  const error = doc.errors[0];
  if (error !== undefined) {
    const where = `${file}:${lineCounter.linePos(error.pos[0]).line}`;
    const first = error.message.split('\n')[0] ?? error.message;
    throw new ConfigurationError(`${where}: invalid YAML: ${first}`, 'stack-file');
  }
  // Every key must read the same to the gate and to Docker's YAML 1.1 loader (see canonical.ts), in any policy mode.
  const keyViolations = plainKeyViolations(file, keyProblems(doc, lineCounter));
  // The docker CLI reads a plain `0440` (typical for secret modes) as octal; YAML 1.2 reads it as decimal.
  visit(doc, {
    Scalar(_key, node) {
      if (node.type === 'PLAIN' && typeof node.value === 'number' && /^[-+]?0[0-7]+$/.test(node.source ?? '')) {
        node.value = parseInt(node.source as string, 8);
      }
    },
  });
  const expanded = expandedSize(doc, MAX_EXPANDED_BYTES);
  if (expanded > MAX_EXPANDED_BYTES) {
    throw new ConfigurationError(
      `${file}: YAML aliases expand too much (the file would grow past ${MAX_EXPANDED_BYTES / (1024 * 1024)} MiB); the file looks like an alias bomb`,
      'stack-file',
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (caught: unknown) {
    if (caught instanceof ReferenceError) {
      throw new ConfigurationError(
        `${file}: YAML aliases expand too much (${caught.message}); the file looks like an alias bomb`,
        'stack-file',
      );
    }
    throw new ConfigurationError(`${file}: invalid YAML: ${errorMessage(caught)}`, 'stack-file');
  }
  const lineAt = (node: { range?: [number, number, number] | null | undefined } | null | undefined) => {
    const offset = node?.range?.[0];
    return offset === undefined ? undefined : lineCounter.linePos(offset).line;
  };
  const lineOf = (path: YamlPath): number | undefined => {
    let node: unknown = doc.contents;
    let line = lineAt(doc.contents as YamlNode | null);
    for (const segment of path) {
      node = resolve(doc, node);
      if (isMap(node)) {
        const pair = findPair(doc, node.items as Pair[], String(segment), 0);
        if (pair === undefined) break;
        line = lineAt(pair.key as YamlNode) ?? lineAt(pair.value as YamlNode) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined) break;
        line = lineAt(item as YamlNode) ?? line;
        node = item;
      } else {
        break;
      }
    }
    return line;
  };
  return { data, lineOf, keyViolations };
}

/** Keys that are not plain refuse the stack in every policy mode (rule `plain-key`), each with its line. */
function plainKeyViolations(file: string, problems: { line: number | undefined; message: string }[]): Violation[] {
  return problems.map(({ line, message }) => ({
    rule: 'plain-key',
    message,
    file,
    severity: 'error',
    ...(line === undefined ? {} : { line }),
  }));
}

/** Labels written as a list become a mapping in the text Docker reads (see labelMap): their keys must be plain too. */
function checkLabelListKeys(source: StackSource, services: Record<string, unknown>): void {
  const problems: { line: number | undefined; message: string }[] = [];
  for (const [name, service] of Object.entries(services)) {
    const deploy = isRecord(service) && isRecord(service.deploy) ? service.deploy : undefined;
    if (deploy === undefined || !Array.isArray(deploy.labels)) continue;
    for (const entry of labelEntries(deploy.labels, ['services', name, 'deploy', 'labels'])) {
      const problem = keyTextProblem(entry.key, 'the label key');
      if (problem !== undefined)
        problems.push({ line: source.lineOf(entry.path), message: `service "${name}": ${problem}` });
    }
  }
  source.refused.push(...plainKeyViolations(source.file, problems));
}

function resolve(doc: Document, node: unknown): unknown {
  let current = node;
  for (let hops = 0; isAlias(current) && hops < 100; hops += 1) current = current.resolve(doc);
  return current;
}

/** A key of a map, looking through merge keys the way YAML does (own keys first, then merged maps in order). */
function findPair(doc: Document, items: Pair[], key: string, depth: number): Pair | undefined {
  const own = items.find((pair) => isScalar(pair.key) && String(pair.key.value) === key && !isMergeKey(pair));
  if (own !== undefined || depth > 20) return own;
  for (const pair of items) {
    if (!isMergeKey(pair)) continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const target = resolve(doc, source);
      if (!isMap(target)) continue;
      const found = findPair(doc, target.items as Pair[], key, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function isMergeKey(pair: unknown): boolean {
  // The parser's merge key: its value is a symbol, where a quoted "<<" is a plain string (refused at parse).
  return isPair(pair) && isScalar(pair.key) && typeof pair.key.value === 'symbol';
}

// The docker CLI casts these values after substitution (cli/compose/loader interpolateTypeCastMapping),
// so `replicas: ${N}` becomes a number. Only substituted strings are cast, as there.
type Cast = 'int' | 'float' | 'bool';
const CAST_PATHS: [string, Cast][] = [
  ['services.*.configs.*.mode', 'int'],
  ['services.*.secrets.*.mode', 'int'],
  ['services.*.healthcheck.retries', 'int'],
  ['services.*.healthcheck.disable', 'bool'],
  ['services.*.deploy.replicas', 'int'],
  ['services.*.deploy.update_config.parallelism', 'int'],
  ['services.*.deploy.update_config.max_failure_ratio', 'float'],
  ['services.*.deploy.rollback_config.parallelism', 'int'],
  ['services.*.deploy.rollback_config.max_failure_ratio', 'float'],
  ['services.*.deploy.restart_policy.max_attempts', 'int'],
  ['services.*.deploy.placement.max_replicas_per_node', 'int'],
  ['services.*.ports.*.target', 'int'],
  ['services.*.ports.*.published', 'int'],
  ['services.*.ulimits.*', 'int'],
  ['services.*.ulimits.*.hard', 'int'],
  ['services.*.ulimits.*.soft', 'int'],
  ['services.*.privileged', 'bool'],
  ['services.*.read_only', 'bool'],
  ['services.*.stdin_open', 'bool'],
  ['services.*.tty', 'bool'],
  ['services.*.volumes.*.read_only', 'bool'],
  ['services.*.volumes.*.volume.nocopy', 'bool'],
  ['networks.*.external', 'bool'],
  ['networks.*.internal', 'bool'],
  ['networks.*.attachable', 'bool'],
  ['volumes.*.external', 'bool'],
  ['secrets.*.external', 'bool'],
  ['configs.*.external', 'bool'],
  ['services.*.env_file.*.required', 'bool'],
];

function castFor(path: YamlPath): Cast | undefined {
  for (const [pattern, cast] of CAST_PATHS) {
    const parts = pattern.split('.');
    if (parts.length === path.length && parts.every((part, i) => part === '*' || part === String(path[i]))) {
      return cast;
    }
  }
  return undefined;
}

function castValue(path: YamlPath, value: string, where: Where): unknown {
  const cast = castFor(path);
  if (cast === undefined) return value;
  const fail = (what: string): never => {
    throw new StackProblem(where, `${showValue(value)} is not ${what}`, 'env');
  };
  if (cast === 'int') return /^[-+]?\d+$/.test(value.trim()) ? Number(value) : fail('an integer');
  if (cast === 'float')
    return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value.trim()) ? Number(value) : fail('a number');
  const lower = value.trim().toLowerCase();
  if (['y', 'yes', 'true', 'on'].includes(lower)) return true;
  if (['n', 'no', 'false', 'off'].includes(lower)) return false;
  return fail('a boolean');
}

const GO_DURATION = /^(\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`1m30s`, `500ms`) as compose files write them, in milliseconds. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!GO_DURATION.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(match[1]) * (GO_UNITS[match[2] as string] as number);
  }
  return total;
}

export function formatGoDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.ceil(ms)}ms`;
}

function isNoneTest(test: unknown): boolean {
  if (Array.isArray(test)) return test[0] === 'NONE';
  return test === 'NONE';
}

/**
 * Renders a stack in named stages: parse → validate → judge → apply defaults → encode, after the
 * settings around the stack are checked. Every check runs before the document is changed, so a
 * refused stack is refused as the client wrote it.
 */
export function renderStack(options: RenderOptions): RenderedStack {
  const validated = validateSettings(options);
  const source = parse(options);
  const files = readFiles(source, validated);
  const settings: RenderSettings = { ...validated, supplied: files.supplied };
  const structure = validate(source, settings);
  const warnings = judge(source, settings);
  const services = applyDefaults(source, structure, settings, warnings, files.environments);
  return { ...encode(source, services, warnings, settings), configFiles: files.configs };
}

/** The stack file after parsing and interpolation, with the way to point an error at a line of it. */
interface StackSource {
  file: string;
  document: Record<string, unknown>;
  lineOf: (path: YamlPath) => number | undefined;
  variables: string[];
  /** Every problem found so far; they are thrown together (StackError) once the file is judged. */
  problems: StackProblem[];
  /** Refusals found before the gate (keys that are not plain); judged with the gate's own. */
  refused: Violation[];
  /**
   * Adds the problem at a path (its line, the message, the input at fault: the stack file by default)
   * to `problems`, unless the value there (or one inside it) could not be
   * substituted: that value is reported once, as it was written.
   */
  report(path: YamlPath, message: string, input?: string): void;
}

/** Versioned Swarm names of the secrets and configs the deploy supplies, by their stack-file key. */
interface Supplied {
  secrets: ReadonlyMap<string, string>;
  configs: ReadonlyMap<string, string>;
}

/** The render options with the domains as validated and the secrets and configs the deploy supplies. */
interface RenderSettings extends RenderOptions {
  domains: string[];
  supplied: Supplied;
}

interface StackStructure {
  services: Record<string, unknown>;
  declared: {
    networks: Record<string, unknown>;
    volumes: Record<string, unknown>;
    secrets: Record<string, unknown>;
    configs: Record<string, unknown>;
  };
}

/** What the files the stack refers to gave: the variables of each service's env files, and configs. */
interface FilesRead {
  /** Service name → the variables of its env files (for every service that has `env_file`). */
  environments: Map<string, Map<string, string>>;
  configs: { name: string; content: string; versioned: string }[];
  /** The supplied secrets and configs, with the configs read from files. */
  supplied: Supplied;
}

/**
 * Stage 1b, read the files: each service's `env_file` and each `configs.<key>.file`, through the
 * injected reader, relative to the stack file. A `secrets.<key>.file` is never read: secrets come
 * through the secrets input, and one not given there is refused. Problems are reported, not thrown.
 */
function readFiles(source: StackSource, settings: RenderSettings): FilesRead {
  const { document, report } = source;
  const read = settings.files?.read;
  const environments = new Map<string, Map<string, string>>();
  const services = isRecord(document.services) ? document.services : {};
  for (const [name, service] of Object.entries(services)) {
    if (!isRecord(service) || !Object.hasOwn(service, 'env_file')) continue;
    const at = ['services', name, 'env_file'];
    environments.set(name, readEnvFiles(read, { name, envFile: service.env_file, at }, report));
  }
  const configs: FilesRead['configs'] = [];
  const suppliedConfigs = new Map(settings.supplied.configs);
  for (const [key, definition] of Object.entries(isRecord(document.configs) ? document.configs : {})) {
    if (!isRecord(definition) || !Object.hasOwn(definition, 'file')) continue;
    const at = ['configs', key, 'file'];
    const path = definition.file;
    if (typeof path !== 'string') report(at, `config "${key}": "file" must be a path`);
    else if (definition.external !== undefined && definition.external !== false)
      report(at, `config "${key}" is both external and read from a file: keep one`);
    else if (settings.supplied.configs.has(key)) {
      report(
        at,
        `config "${key}" is given twice, by its file ${showValue(path)} and in the configs input: keep one`,
        'configs',
      );
    } else {
      const content = readReferenced(read, `config "${key}": file`, path, { at, report });
      if (content === undefined || settings.files === undefined) continue;
      try {
        const versioned = settings.files.configName(key, content);
        configs.push({ name: key, content, versioned });
        suppliedConfigs.set(key, versioned);
      } catch (caught: unknown) {
        report(at, `config "${key}": ${errorMessage(caught)}`);
      }
    }
  }
  for (const [key, definition] of Object.entries(isRecord(document.secrets) ? document.secrets : {})) {
    // A secret given in the secrets input takes its value from there; its `file` is never read.
    if (isRecord(definition) && Object.hasOwn(definition, 'file') && !settings.supplied.secrets.has(key)) {
      report(
        ['secrets', key, 'file'],
        `secret "${key}" names a file: secrets come through the secrets input (masked), never from a file in the repository; give ${key}=... in the secrets input, or mark it external: true`,
      );
    }
  }
  return { environments, configs, supplied: { secrets: settings.supplied.secrets, configs: suppliedConfigs } };
}

/** Checks the settings around the stack (policy, routing, image) before the stack file is read. */
function validateSettings(options: RenderOptions): RenderSettings {
  const { policy } = options;
  validatePolicySettings(policy);
  const domains = policy.domains.map((domain) => validateDomain(domain));
  if (policy.entrypoint !== undefined) {
    validateTraefikToken(policy.entrypoint, 'entrypoint');
    const allowed = platformEntrypoints(policy);
    if (!allowed.includes(policy.entrypoint)) {
      throw new ConfigurationError(
        `${showValue(policy.entrypoint)} is not one of the platform's Traefik entrypoints (${allowed.join(', ')})`,
        'entrypoint',
      );
    }
  }
  if (policy.certResolver !== undefined) validateTraefikToken(policy.certResolver, 'cert-resolver');
  if (options.image !== undefined) validateImageRef(options.image, 'image');
  const supplied: Supplied = {
    secrets: options.secretNames ?? new Map<string, string>(),
    configs: options.configNames ?? new Map<string, string>(),
  };
  return { ...options, domains, supplied };
}

/**
 * Stage 1, parse: read the file with positions, then substitute the variables into the parsed values.
 * A value that cannot be substituted or cast is a problem of the file, kept as written meanwhile.
 */
function parse(options: Pick<RenderOptions, 'file' | 'text' | 'env' | 'image'>): StackSource {
  const { file } = options;
  const parsed = readStack(file, options.text);
  const problem = (path: YamlPath, message: string, input = 'stack-file'): StackProblem =>
    new StackProblem({ file, line: parsed.lineOf(path) }, message, input);
  const problems: StackProblem[] = [];
  const env = new Map(options.env);
  if (options.image !== undefined) env.set('IMAGE', options.image);
  const interpolated = interpolateTree(parsed.data, env, {
    file,
    lineOf: parsed.lineOf,
    cast: castValue,
    onProblem: (found) => problems.push(found),
  });
  if (!isRecord(interpolated.value)) throw problem([], 'a stack file must be a mapping with a "services" key');
  const failed = problems.map((found) => found.where.path ?? '');
  const report = (path: YamlPath, message: string, input?: string): void => {
    const at = path.join('.');
    if (failed.some((value) => value === at || value.startsWith(`${at}.`))) return;
    problems.push(problem(path, message, input));
  };
  const { lineOf } = parsed;
  const { variables } = interpolated;
  return { file, document: interpolated.value, lineOf, variables, problems, refused: parsed.keyViolations, report };
}

/** What a service's `deploy` and `healthcheck` hold as mappings; rendering adds keys to them. */
const SERVICE_MAPPINGS: YamlPath[] = [
  ['deploy'],
  ['deploy', 'update_config'],
  ['deploy', 'rollback_config'],
  ['deploy', 'resources'],
  ['deploy', 'resources', 'limits'],
  ['deploy', 'placement'],
  ['healthcheck'],
];

/**
 * Stage 2, validate: what docker would refuse later in the stack's structure, found now with its
 * line. Nothing stops here: every problem is collected (StackSource.report) and thrown by judge.
 */
function validate(source: StackSource, settings: RenderSettings): StackStructure {
  const { document, report } = source;
  const { supplied } = settings;
  for (const key of Object.keys(document)) {
    if (!TOP_LEVEL.has(key) && !key.startsWith('x-')) {
      report([key], `unsupported top-level key ${showValue(key)} (allowed: ${[...TOP_LEVEL].join(', ')}, x-*)`);
    }
  }
  for (const section of ['services', 'networks', 'volumes', 'secrets', 'configs']) {
    const value = document[section];
    if (value !== undefined && value !== null && !isRecord(value)) report([section], `"${section}" must be a mapping`);
    for (const key of Object.keys(isRecord(value) ? value : {})) {
      if (!KEY_NAME.test(key)) {
        report([section, key], `${showValue(key)} is not a valid name (letters, digits, '_', '.', '-')`);
      }
    }
  }
  const services = isRecord(document.services) ? document.services : {};
  if (Object.keys(services).length === 0) report([], 'the stack defines no services');
  checkLabelListKeys(source, services);
  const declared = {
    networks: isRecord(document.networks) ? document.networks : {},
    volumes: isRecord(document.volumes) ? document.volumes : {},
    secrets: isRecord(document.secrets) ? document.secrets : {},
    configs: isRecord(document.configs) ? document.configs : {},
  };
  for (const [name, service] of Object.entries(services)) {
    if (isRecord(service)) validateService(source, settings, declared, name, service);
    else report(['services', name], `service "${name}" must be a mapping`);
  }
  for (const kind of ['secrets', 'configs'] as const) {
    for (const [key, definition] of Object.entries(declared[kind])) {
      const external = isRecord(definition) && (definition.external === true || isRecord(definition.external));
      // A `file` is read (configs) or refused (secrets) by readFiles, which reports its own problems.
      const file = isRecord(definition) && Object.hasOwn(definition, 'file');
      if (!supplied[kind].has(key) && !external && !file) {
        report(
          [kind, key],
          `${kind.slice(0, -1)} "${key}" has no value: give it in the ${kind} input (${key}=...) or mark it external: true`,
          kind,
        );
      }
    }
  }
  return { services, declared };
}

/** The problems of one service: its name, image, references to what the stack declares, and value types. */
function validateService(
  source: StackSource,
  settings: RenderSettings,
  declared: StackStructure['declared'],
  name: string,
  service: Record<string, unknown>,
): void {
  const { tenant } = settings;
  const at = (...rest: YamlPath): YamlPath => ['services', name, ...rest];
  const { report } = source;
  if (tenant.scoped(name).length > SERVICE_NAME_MAX) {
    report(at(), `service name "${tenant.scoped(name)}" is longer than ${SERVICE_NAME_MAX} characters`);
  }
  if (typeof service.image !== 'string') report(at(), `service "${name}" has no image`);
  else {
    const problem = imageRefProblem(service.image);
    if (problem !== undefined) report(at('image'), `service "${name}": ${problem}`);
  }
  for (const ref of serviceNetworks(service)) {
    if (
      !(ref.name in declared.networks) &&
      ref.name !== tenant.network &&
      ref.name !== 'host' &&
      ref.name !== 'ingress'
    ) {
      report(
        at('networks', ...ref.path),
        `service "${name}" joins network "${ref.name}", which the stack does not declare under "networks"`,
      );
    }
  }
  for (const ref of volumeReferences(service)) {
    if (!Object.hasOwn(declared.volumes, ref.name)) {
      report(
        at('volumes', ...ref.path),
        `service "${name}" mounts volume ${showValue(ref.name)}, which the stack does not declare under top-level "volumes"`,
      );
    }
  }
  for (const kind of ['secrets', 'configs'] as const) {
    for (const ref of serviceReferences(service, kind)) {
      if (!(ref.name in declared[kind])) {
        report(
          at(kind, ...ref.path),
          `service "${name}" uses ${kind.slice(0, -1)} ${showValue(ref.name)}, which the stack does not declare under top-level "${kind}"`,
        );
      }
    }
  }
  let mappings = true;
  for (const path of SERVICE_MAPPINGS) {
    let value: unknown = service;
    for (const key of path) value = isRecord(value) ? value[key] : undefined;
    if (value !== undefined && value !== null && !isRecord(value)) {
      report(at(...path), `service "${name}": "${path.join('.')}" must be a mapping`);
      mappings = false;
    }
  }
  if (!mappings) return;
  // monitorFor stops at its first problem: that one is reported, and the error it throws is done with.
  const reported = new Error('reported');
  try {
    monitorFor(service, (path, message) => {
      report(at(...path), message);
      return reported;
    });
  } catch (caught: unknown) {
    if (caught !== reported) throw caught;
  }
  const monitor =
    isRecord(service.deploy) && isRecord(service.deploy.update_config)
      ? service.deploy.update_config.monitor
      : undefined;
  if (monitor !== undefined && monitor !== null && parseGoDuration(String(monitor)) === undefined) {
    report(at('deploy', 'update_config', 'monitor'), `${showValue(String(monitor))} is not a duration such as 30s`);
  }
}

/**
 * Stage 3, judge: the policy gate refuses the stack on any error-level violation, together with
 * the problems found before; returns the warnings.
 */
function judge(source: StackSource, settings: Pick<RenderSettings, 'tenant' | 'policy' | 'supplied'>): Violation[] {
  const { supplied } = settings;
  const violations = judgeStack(
    {
      tenant: settings.tenant,
      file: source.file,
      document: source.document,
      lineOf: source.lineOf,
      suppliedSecrets: new Set(supplied.secrets.keys()),
      suppliedConfigs: new Set(supplied.configs.keys()),
    },
    settings.policy,
  );
  const refused = [...source.refused, ...violations.filter((violation) => violation.severity === 'error')].sort(
    (a, b) => (a.line ?? 0) - (b.line ?? 0),
  );
  if (source.problems.length > 0) {
    const problems = [...source.problems].sort((a, b) => (a.where.line ?? 0) - (b.where.line ?? 0));
    throw new StackError(source.file, problems, refused);
  }
  if (refused.length > 0) throw new PolicyError(source.file, refused);
  return [...violations];
}

/** A recorded release's stack, about to be deployed again by a rollback or a scale. */
export interface RecordedStack {
  tenant: Tenant;
  /** How messages name it, e.g. `release 20261201-101500-abc`. */
  file: string;
  /** The stack as recorded: the text Docker read then. */
  text: string;
  /** Today's policy. */
  policy: PolicySettings;
}

/**
 * Judges a recorded release's stack again under today's policy, before it is deployed again: the
 * same parse (every key plain) and the same gate as a deploy, on the text Docker read then (its `$$`
 * read back as `$`). The `swarm-deploy.*` labels are the deploy's own and are not judged; the
 * domains, tier and published ports are today's. Throws PolicyError on a refusal; returns the warnings.
 */
export function judgeRecordedStack(recorded: RecordedStack): Violation[] {
  validatePolicySettings(recorded.policy);
  const source = parse({ file: recorded.file, text: recorded.text, env: new Map() });
  const services = isRecord(source.document.services) ? source.document.services : {};
  for (const service of Object.values(services)) {
    const labels = isRecord(service) && isRecord(service.deploy) ? service.deploy.labels : undefined;
    if (!isRecord(labels)) continue;
    for (const key of Object.keys(labels)) if (key.startsWith('swarm-deploy.')) delete labels[key];
  }
  recordedFileProblems(source);
  const supplied: Supplied = { secrets: new Map(), configs: new Map() };
  return judge(source, { tenant: recorded.tenant, policy: recorded.policy, supplied });
}

/**
 * A rendered stack holds no path (env files are in `environment`, config files are versioned
 * configs), so a recorded one that does was not rendered so: deployed again, the manager would
 * read the file from its own disk. Each such reference is a problem of the recorded stack.
 */
function recordedFileProblems(source: StackSource): void {
  const { document, report } = source;
  const again = 'deployed again it would be read on the manager; deploy the stack from the repository instead';
  for (const [name, service] of Object.entries(isRecord(document.services) ? document.services : {})) {
    if (isRecord(service) && Object.hasOwn(service, 'env_file'))
      report(['services', name, 'env_file'], `service "${name}" has an env_file: ${again}`);
  }
  for (const kind of ['secrets', 'configs'] as const) {
    for (const [key, definition] of Object.entries(isRecord(document[kind]) ? document[kind] : {})) {
      if (isRecord(definition) && Object.hasOwn(definition, 'file'))
        report([kind, key, 'file'], `${kind.slice(0, -1)} "${key}" names a file: ${again}`);
    }
  }
}

/** The service that receives the domains, checked before rendering changes anything. */
function routedService(
  services: Record<string, unknown>,
  domains: readonly string[],
  policy: PolicySettings,
): string | undefined {
  if (domains.length === 0) return undefined;
  const names = Object.keys(services);
  const routed = policy.routedService ?? (names.length === 1 ? names[0] : undefined);
  if (routed === undefined) {
    throw new ConfigurationError(
      `the stack has ${names.length} services (${names.join(', ')}); name the one that receives the domains`,
      'routed-service',
    );
  }
  if (!(routed in services))
    throw new ConfigurationError(`the stack has no service "${routed}" (it has ${names.join(', ')})`, 'routed-service');
  if (policy.port === undefined)
    throw new ConfigurationError(
      'a port is required when domains are given (the port the service listens on)',
      'service-port',
    );
  validatePort(policy.port, 'service-port');
  return routed;
}

interface DefaultsContext extends RenderSettings {
  routed: string | undefined;
}

/** Stage 4, apply defaults: networks, versioned secrets and configs, and per service what the stack leaves unset. */
function applyDefaults(
  source: StackSource,
  structure: StackStructure,
  settings: RenderSettings,
  warnings: Violation[],
  environments: ReadonlyMap<string, ReadonlyMap<string, string>>,
): RenderedService[] {
  const context: DefaultsContext = {
    ...settings,
    routed: routedService(structure.services, settings.domains, settings.policy),
  };
  const { document } = source;
  const { tenant, supplied } = context;
  const network = tenant.network;
  for (const key of Object.keys(document)) if (key.startsWith('x-')) delete document[key];
  const networks = record(document, 'networks');
  let networkKey = Object.entries(networks).find(
    ([key, definition]) =>
      isRecord(definition) && definition.external !== undefined && objectName(tenant, key, definition) === network,
  )?.[0];
  if (networkKey === undefined) {
    networkKey = network;
    networks[network] = { external: true, name: network };
  }
  for (const [key, definition] of Object.entries(networks)) {
    if (key === networkKey) continue;
    const own = isRecord(definition) ? definition : {};
    if (own.external === undefined && own.driver === undefined) own.driver = 'overlay';
    networks[key] = own;
  }
  for (const kind of ['secrets', 'configs'] as const) {
    const section = structure.declared[kind];
    for (const key of Object.keys(section)) {
      const name = supplied[kind].get(key);
      if (name !== undefined) section[key] = { external: true, name };
    }
  }
  // The env files' variables are in `environment` now: no path goes to the manager.
  for (const [name, values] of environments) {
    const service = structure.services[name] as Record<string, unknown>;
    if (values.size > 0) service.environment = mergeEnvironment(service.environment, values);
    delete service.env_file;
  }
  return Object.entries(structure.services).map(([name, raw]) =>
    renderService(source, structure, context, warnings, { name, service: raw as Record<string, unknown>, networkKey }),
  );
}

function renderService(
  source: StackSource,
  structure: StackStructure,
  context: DefaultsContext,
  warnings: Violation[],
  target: { name: string; service: Record<string, unknown>; networkKey: string },
): RenderedService {
  const { name, service, networkKey } = target;
  const { tenant, policy } = context;
  const at = (...rest: YamlPath): YamlPath => ['services', name, ...rest];
  // validate saw the image, the mappings, the healthcheck and the monitor of every service.
  const image = service.image as string;

  const joined = serviceNetworks(service).map((ref) => ref.name);
  if (!joined.includes(networkKey)) {
    if (isRecord(service.networks)) service.networks[networkKey] = null;
    else if (Array.isArray(service.networks)) service.networks.push(networkKey);
    else service.networks = 'default' in record(source.document, 'networks') ? ['default', networkKey] : [networkKey];
  }

  const deploy = record(service, 'deploy');
  const monitorDefault = monitorFor(service);
  // Two tasks cannot hold one host-mode port on a node, nor should two run on the same named volume:
  // such services stop the old task first.
  const mounts = namedVolumeMounts(service, structure.declared.volumes);
  const order = hostModePorts(service.ports) || mounts.length > 0 ? 'stop-first' : 'start-first';
  const update = record(deploy, 'update_config');
  const rollback = record(deploy, 'rollback_config');
  const defaulted = Object.entries({ update_config: update, rollback_config: rollback })
    .filter(([, config]) => config.order === undefined || config.order === null)
    .map(([key]) => key);
  if (mounts.length > 0 && defaulted.length > 0) {
    const volumes = [...new Set(mounts.map((mount) => mount.name))];
    const line = source.lineOf(at('volumes', ...(mounts[0]?.path ?? [])));
    warnings.push(statefulOrderNotice(name, volumes, defaulted, source.file, line));
  }
  setDefault(update, 'order', order);
  setDefault(update, 'failure_action', context.autoRollback === false ? 'pause' : 'rollback');
  setDefault(update, 'parallelism', 1);
  setDefault(update, 'monitor', formatGoDuration(monitorDefault));
  setDefault(rollback, 'order', order);
  setDefault(rollback, 'parallelism', 1);
  setDefault(rollback, 'failure_action', 'pause');
  setDefault(rollback, 'monitor', formatGoDuration(monitorDefault));
  const monitorMs = parseGoDuration(String(update.monitor)) as number;

  const labels = labelMap(deploy.labels);
  for (const key of Object.keys(labels)) if (key.startsWith('swarm-deploy.')) delete labels[key];
  Object.assign(labels, releaseLabels(tenant, context.release));
  if (name === context.routed) {
    Object.assign(
      labels,
      traefikLabels({
        tenant,
        service: name,
        domains: context.domains,
        port: policy.port as number,
        entrypoint: policy.entrypoint,
        certResolver: policy.certResolver,
      }),
    );
  }
  deploy.labels = labels;

  const limitsWarning = applyDefaultLimits(service, name, policy, source.file, source.lineOf(at()));
  if (limitsWarning !== undefined) warnings.push(limitsWarning);

  if (policy.tier !== undefined) {
    const placement = record(deploy, 'placement');
    const constraints = Array.isArray(placement.constraints) ? placement.constraints : [];
    const wanted = tierConstraint(policy.tier);
    if (!constraints.some((c) => String(c).replace(/\s+/g, '') === wanted.replace(/\s+/g, '')))
      constraints.push(wanted);
    placement.constraints = constraints;
  }

  const mode = typeof deploy.mode === 'string' ? deploy.mode : 'replicated';
  const entry: RenderedService = {
    name,
    fullName: tenant.scoped(name),
    image,
    monitorMs,
    secrets: serviceReferences(service, 'secrets').map((ref) =>
      objectName(tenant, ref.name, structure.declared.secrets[ref.name]),
    ),
    configs: serviceReferences(service, 'configs').map((ref) =>
      objectName(tenant, ref.name, structure.declared.configs[ref.name]),
    ),
  };
  if (typeof deploy.replicas === 'number') entry.replicas = deploy.replicas;
  else if (mode === 'replicated' || mode === 'replicated-job') entry.replicas = 1;
  return entry;
}

/** Stage 5, encode: sections in Docker's order, the fingerprint label, and the YAML Docker reads. */
function encode(
  source: StackSource,
  services: RenderedService[],
  warnings: Violation[],
  settings: RenderSettings,
): Omit<RenderedStack, 'configFiles'> {
  const ordered: Record<string, unknown> = {};
  for (const key of ['version', 'services', 'networks', 'volumes', 'secrets', 'configs']) {
    if (source.document[key] !== undefined) ordered[key] = source.document[key];
  }
  // What runs is told apart from what is asked by this label (see rollout/unchanged.ts), on every service.
  const fingerprint = stackFingerprint(toWireYaml(ordered));
  const rendered = isRecord(ordered.services) ? ordered.services : {};
  for (const service of Object.values(rendered)) {
    ((service as Record<string, unknown>).deploy as { labels: Record<string, unknown> }).labels[FINGERPRINT_LABEL] =
      fingerprint;
  }
  return {
    yaml: toWireYaml(ordered),
    document: ordered,
    services,
    network: settings.tenant.network,
    warnings: warnings.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
    variables: source.variables,
  };
}

function setDefault(target: Record<string, unknown>, key: string, value: unknown): void {
  if (target[key] === undefined || target[key] === null) target[key] = value;
}

function hostModePorts(ports: unknown): boolean {
  return Array.isArray(ports) && ports.some((port) => isRecord(port) && port.mode === 'host');
}

/** Labels as a map (compose allows a list of `key=value` too). */
function labelMap(labels: unknown): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  if (isRecord(labels)) {
    for (const [key, value] of Object.entries(labels)) map[key] = value;
  } else {
    for (const entry of labelEntries(labels, [])) map[entry.key] = entry.value;
  }
  return map;
}

export function releaseLabels(tenant: Tenant, release: ReleaseInfo): Record<string, string> {
  const labels: Record<string, string> = { [LABELS.client]: tenant.name, [LABELS.release]: release.id };
  if (release.gitSha !== undefined) labels['swarm-deploy.git-sha'] = release.gitSha;
  if (release.runUrl !== undefined) labels['swarm-deploy.run-url'] = release.runUrl;
  if (release.actor !== undefined) labels['swarm-deploy.actor'] = release.actor;
  labels['swarm-deploy.time'] = release.time;
  return labels;
}

/**
 * The update `monitor` a service needs so a failing healthcheck is noticed before Swarm calls the
 * update done: start period + interval × retries (Docker's defaults for unset fields), at least 10 s.
 */
export function monitorFor(
  service: Record<string, unknown>,
  error: (path: YamlPath, message: string) => Error = (_path, message) => new ConfigurationError(message, 'stack-file'),
): number {
  const health = service.healthcheck;
  if (!isRecord(health) || health.disable === true || isNoneTest(health.test)) return MIN_MONITOR_MS;
  const duration = (key: string, fallback: number): number => {
    const value = health[key];
    if (value === undefined || value === null) return fallback;
    const ms = typeof value === 'string' ? parseGoDuration(value) : undefined;
    if (ms === undefined)
      throw error(
        ['healthcheck', key],
        `healthcheck ${key} ${showValue(String(value))} is not a duration such as 10s or 1m30s`,
      );
    return ms;
  };
  const interval = duration('interval', HEALTH_INTERVAL_MS);
  const startPeriod = duration('start_period', 0);
  const retries = health.retries === undefined || health.retries === null ? HEALTH_RETRIES : Number(health.retries);
  if (!Number.isInteger(retries) || retries < 0)
    throw error(['healthcheck', 'retries'], 'healthcheck retries must be a whole number');
  return Math.max(MIN_MONITOR_MS, Math.ceil(startPeriod + interval * retries));
}

/**
 * The YAML text for `docker stack deploy -c -`. The docker CLI substitutes variables in the file
 * it reads, with the environment of the manager's shell; every `$` in a string value is doubled
 * so the values arrive exactly as rendered here. The text is canonical (see canonicalYaml): keys
 * and strings double-quoted in printable ASCII, so no value can be read back as another type or as
 * structure by a YAML 1.1 or 1.2 parser.
 */
export function toWireYaml(document: Record<string, unknown>): string {
  return canonicalYaml(escapeDollars(document) as Record<string, unknown>);
}

/** A string as it must appear in the YAML given to the docker CLI, so its substitution yields `value`. */
export function escapeForDocker(value: string): string {
  return value.replaceAll('$', () => '$$');
}

function escapeDollars(value: unknown): unknown {
  if (typeof value === 'string') return escapeForDocker(value);
  if (Array.isArray(value)) return value.map(escapeDollars);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(out, key, {
        value: escapeDollars(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}
