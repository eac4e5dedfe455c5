/**
 * The gate's entry, run by a tenant key's forced command on a manager:
 *   gate --client <client>
 * It reads one request from stdin (bounded), serves it with docker on this manager, and writes the
 * answer as protocol lines on stdout. The command the SSH client asked for is never read.
 */
import { LocalRunner } from '../core/exec.js';
import { systemClock } from '../core/retry.js';
import { MAX_GATE_REQUEST_BYTES } from '../transport/gate-protocol.js';
import { parseGateArguments, runGate } from './gate.js';
import { swarmRegistry } from './registry.js';

/** stdin up to one byte past the limit: a larger request is refused without being read whole. */
async function readRequest(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = chunk as Buffer;
    chunks.push(buffer);
    size += buffer.length;
    if (size > MAX_GATE_REQUEST_BYTES) break;
  }
  return Buffer.concat(chunks)
    .subarray(0, MAX_GATE_REQUEST_BYTES + 1)
    .toString('utf8');
}

async function main(): Promise<number> {
  let args: { client: string };
  try {
    args = parseGateArguments(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 64;
  }
  const runner = new LocalRunner();
  try {
    return await runGate({
      client: args.client,
      stdin: await readRequest(),
      write: (line) => void process.stdout.write(line),
      registry: swarmRegistry(runner),
      runner,
      clock: systemClock,
    });
  } finally {
    await runner.close();
  }
}

process.exitCode = await main();
