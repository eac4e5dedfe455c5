import type { CommandResult, CommandRunner, RunOptions, StreamHandle } from '../../src/core/exec.js';
import { checkResult } from '../../src/core/exec.js';

type Handler = (argv: readonly string[], options: RunOptions) => Partial<CommandResult> | undefined;

/**
 * A command runner that answers only the commands it was told to expect: any other command
 * throws, so a test cannot pass by running something unplanned.
 */
export class ScriptedRunner implements CommandRunner {
  readonly description = 'scripted';
  readonly calls: { argv: string[]; stdin: string | undefined }[] = [];
  private readonly handlers: { match: (argv: readonly string[]) => boolean; handler: Handler }[] = [];

  /** Answer commands whose argv contains these words in this order (after `docker --config <dir>`). */
  on(words: readonly string[], handler: Handler): this {
    this.handlers.push({ match: (argv) => containsInOrder(argv, words), handler });
    return this;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.calls.push({ argv: [...argv], stdin: options.stdin });
    for (const { match, handler } of this.handlers) {
      if (!match(argv)) continue;
      const result = handler(argv, options);
      if (result === undefined) continue;
      return checkResult(argv, { code: 0, stdout: '', stderr: '', ...result }, options);
    }
    throw new Error(`unexpected command: ${argv.join(' ')}`);
  }

  stream(): StreamHandle {
    throw new Error('stream was not expected');
  }

  async close(): Promise<void> {}

  commands(): string[] {
    return this.calls.map((c) =>
      c.argv.filter((_w, i) => !(c.argv[i - 1] === '--config' || c.argv[i] === '--config')).join(' '),
    );
  }
}

function containsInOrder(argv: readonly string[], words: readonly string[]): boolean {
  let index = 0;
  for (const word of argv) if (word === words[index]) index++;
  return index === words.length;
}
