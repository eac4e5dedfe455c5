import { ConfigurationError, errorMessage } from '../core/errors.js';
import {
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  isParseArgsError,
  processIo,
  UsageError,
  type CliIo,
  type Command,
} from './command.js';
import { deployCommand, planCommand, rollbackCommand } from './deploy.js';
import { historyCommand } from './history.js';
import { lockCommand } from './lock.js';
import { newClientCommand } from './new-client.js';
import { asCliError } from './operator.js';
import { platformCommand } from './platform.js';
import { scaleCommand } from './scale.js';
import { statusCommand } from './status.js';

/** Every operator command, by name. A new command is one line here. */
export const commands: Readonly<Record<string, Command>> = {
  'new-client': newClientCommand,
  status: statusCommand(),
  history: historyCommand(),
  plan: planCommand(),
  deploy: deployCommand(),
  rollback: rollbackCommand(),
  scale: scaleCommand(),
  lock: lockCommand(),
  platform: platformCommand(),
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const list = Object.entries(commands)
    .map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`)
    .join('\n');
  return [
    'Usage: swarm-deploy <command> [options]',
    '',
    'Ship and operate client services on the shared Docker Swarm.',
    '',
    'Commands:',
    list,
    '',
    'Run `swarm-deploy <command> --help` for the options of a command.',
  ].join('\n');
}

/** Runs one command line; resolves to the process exit code (0 ok, 1 failed, 2 misused). */
export async function main(
  argv: readonly string[],
  io: CliIo = processIo(),
  table: Readonly<Record<string, Command>> = commands,
): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(usage());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = Object.hasOwn(table, name) ? table[name] : undefined;
  if (command === undefined) {
    io.err(`swarm-deploy: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT_USAGE;
  }
  try {
    return await command.run(args, io);
  } catch (error: unknown) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`swarm-deploy ${name}: ${error.message}\n\n${command.usage}`);
      return EXIT_USAGE;
    }
    // What the user must fix is a usage problem too; anything else failed while running.
    io.err(`swarm-deploy ${name}: ${errorMessage(asCliError(error))}`);
    return error instanceof ConfigurationError ? EXIT_USAGE : EXIT_FAILURE;
  }
}
