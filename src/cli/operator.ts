/**
 * What the operator commands (status, history, plan, deploy, rollback, scale, lock) share: where
 * the connection comes from, the terminal log (progress on stderr, so `--json` output on stdout
 * stays machine-readable), one runner per command closed at the end, and errors that name the
 * flag to fix rather than the action input behind it.
 */
import { hostname, userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigurationError } from '../core/errors.js';
import { Inputs, mapInputs } from '../core/inputs.js';
import { ConsoleLog, type Log } from '../core/log.js';
import { readConnection, type Connection } from '../rollout/settings.js';
import { openRunner } from '../transport/connect.js';
import { LockError } from '../state/lock.js';
import type { CommandRunner } from '../core/exec.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, type CliIo, type Command } from './command.js';
import {
  agentSocket,
  CONNECTION_ENV,
  CONNECTION_HELP,
  CONNECTION_INPUT,
  connectionInputs,
  connectionOptions,
  PASSPHRASE_ENV,
} from './connection.js';

/** The command's side effects that tests replace: the transport, the environment, stdin. */
export interface OperatorDeps {
  open(connection: Connection, log: Log): CommandRunner;
  env: NodeJS.ProcessEnv;
  readStdin(): Promise<string>;
  /** This machine's clock (ms), for ages shown to the operator. */
  now(): number;
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

export function operatorDeps(overrides: Partial<OperatorDeps> = {}): OperatorDeps {
  return {
    open: (connection, log) => openRunner(connection, log),
    env: process.env,
    readStdin: readProcessStdin,
    now: () => Date.now(),
    ...overrides,
  };
}

/** parseArgs options every operator command has. */
export const outputOptions = {
  json: { type: 'boolean', default: false },
  verbose: { type: 'boolean', short: 'v', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const OUTPUT_HELP = `Output:
  --json                machine-readable JSON on stdout (progress and errors stay on stderr)
  -v, --verbose         also show debug lines (every docker command)
  -h, --help            show this help`;

/** Progress and diagnostics go to stderr, with masked values redacted. */
export function cliLog(io: CliIo, verbose: boolean): ConsoleLog {
  return new ConsoleLog((line) => io.err(line), verbose);
}

/** Action inputs from flag values; secret inputs are masked in the log before anything is printed. */
export function cliInputs(values: Record<string, string | undefined>, log: Log): Inputs {
  return new Inputs(mapInputs(values), (value) => log.mask(value));
}

/** Who the release history and the lock name as the actor of a command run from a terminal. */
export function cliActor(env: NodeJS.ProcessEnv): string {
  if (env.SWARM_DEPLOY_ACTOR) return env.SWARM_DEPLOY_ACTOR;
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `cli@${hostname()}`;
  }
}

/** The flag (or environment variable) behind each field whose flag is not `--<field>`. */
const FLAGS: Record<string, string> = {
  ...Object.fromEntries(
    Object.entries(CONNECTION_ENV).map(([flag, env]) => [
      CONNECTION_INPUT[flag as keyof typeof CONNECTION_ENV] ?? flag,
      `--${flag} (or ${env})`,
    ]),
  ),
  'ssh-key-passphrase': PASSPHRASE_ENV,
  secrets: '--secrets-file',
  'registry-password': '--registry-password-file (or SWARM_DEPLOY_REGISTRY_PASSWORD)',
  'auto-rollback': '--no-auto-rollback',
  'lock-message': '--message',
};

/**
 * How the CLI names a field: the flag (or environment variable, or argument) that carries it.
 * `names` are the command's own spellings; a field with no entry is the flag of the same name.
 */
export function cliField(field: string, names: Readonly<Record<string, string>> = {}): string {
  return names[field] ?? FLAGS[field] ?? `--${field}`;
}

/** A configuration error with its field spelled as the operator types it; other errors pass unchanged. */
export function asCliError(error: unknown, names: Readonly<Record<string, string>> = {}): unknown {
  if (!(error instanceof ConfigurationError) || error.field === undefined) return error;
  const message = error.spelled((field) => cliField(field, names));
  return error instanceof LockError ? new LockError(message) : new ConfigurationError(message);
}

/**
 * Runs a command's body: a held or busy deploy lock is a refusal (exit 1), not a misuse; a
 * configuration error names the flag (main.ts turns it into exit 2); every message is redacted.
 */
export async function operate(
  io: CliIo,
  command: string,
  log: ConsoleLog,
  body: () => Promise<number>,
  names: Readonly<Record<string, string>> = {},
): Promise<number> {
  try {
    return await body();
  } catch (error: unknown) {
    const cli = asCliError(error, names);
    if (cli instanceof Error) cli.message = log.redact(cli.message);
    if (cli instanceof LockError) {
      io.err(`swarm-deploy ${command}: ${cli.message}`);
      return EXIT_FAILURE;
    }
    throw cli;
  }
}

/** Open the one connection of this command, run `fn`, and always close it. */
export async function withRunner<T>(
  deps: OperatorDeps,
  connection: Connection,
  log: Log,
  fn: (runner: CommandRunner) => Promise<T>,
): Promise<T> {
  const runner = deps.open(connection, log);
  try {
    return await fn(runner);
  } finally {
    await runner.close();
  }
}

export function printJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** The positional arguments, at least `min` and at most `max`, or a usage error. */
export function positionalArgs(positionals: readonly string[], what: string, min = 1, max = 1): string[] {
  if (positionals.length < min) throw new UsageError(`${what} is missing`);
  if (positionals.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[max])}`);
  return [...positionals];
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
/** What every operator command has: the connection flags and the output flags. */
type CommonOptions = typeof connectionOptions & typeof outputOptions;
type ParsedValues<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: CommonOptions & O; allowPositionals: true; strict: true }>
>['values'];

/** What a command's body gets: its parsed flags and arguments, its world, and its terminal log. */
export interface OperatorRun<O extends OptionsConfig> {
  values: ParsedValues<O>;
  /** The positional arguments, already counted. */
  args: string[];
  io: CliIo;
  deps: OperatorDeps;
  log: ConsoleLog;
  /** The action inputs behind the connection flags (or their environment variables); key files are read. */
  connectionInputs(): Record<string, string | undefined>;
  /** The connection those inputs name, validated. */
  connection(): Connection;
}

export interface OperatorCommandSpec<O extends OptionsConfig> {
  /** The command's name, as the operator types it (for refusals). */
  name: string;
  summary: string;
  /** The synopsis and the command's own options; the connection and output help follow it. */
  usage: string;
  /** The command's own parseArgs options (the connection and output options are added). */
  options: O;
  /** What the positional arguments are (for the usage error) and how many are allowed. */
  positionals: { what: string; min: number; max: number };
  /** The flag behind each input name, where errors should name it otherwise (see asCliError). */
  flags?: Readonly<Record<string, string>>;
  body(run: OperatorRun<O>): Promise<number>;
}

/**
 * An operator command: parses its command line strictly (its own options, the connection and the
 * output options), prints its usage on --help, counts its positional arguments, and runs its body
 * under `operate`, so every command reports refusals, misuse and configuration errors the same way.
 */
export function operatorCommand<O extends OptionsConfig>(
  spec: OperatorCommandSpec<O>,
  overrides: Partial<OperatorDeps> = {},
): Command {
  const usage = `${spec.usage}\n\n${CONNECTION_HELP}\n\n${OUTPUT_HELP}`;
  const options = { ...connectionOptions, ...outputOptions, ...spec.options };
  return {
    summary: spec.summary,
    usage,
    run: async (args, io) => {
      const deps = operatorDeps(overrides);
      const parsed = parseArgs({ args, allowPositionals: true, strict: true, options });
      const values = parsed.values as ParsedValues<O>;
      const output = parsed.values as { help?: boolean; verbose?: boolean };
      if (output.help) {
        io.out(usage);
        return EXIT_OK;
      }
      const { what, min, max } = spec.positionals;
      const rest = positionalArgs(parsed.positionals, what, min, max);
      const log = cliLog(io, output.verbose ?? false);
      const inputs = () => connectionInputs(values, deps.env, io.cwd);
      const run: OperatorRun<O> = {
        values,
        args: rest,
        io,
        deps,
        log,
        connectionInputs: inputs,
        connection: () => readConnection(cliInputs(inputs(), log), undefined, agentSocket(deps.env)),
      };
      return operate(io, spec.name, log, () => spec.body(run), spec.flags);
    },
  };
}
