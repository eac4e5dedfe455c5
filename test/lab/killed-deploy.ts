/**
 * A deploy run in a process of its own, so a lab test can kill it (SIGKILL, like a runner that
 * vanished) while it holds the client's lock. Inputs come as JSON in DEPLOY_INPUTS. It imports no
 * test framework: it is a plain program.
 */
import { Inputs, mapInputs } from '../../src/core/inputs.js';
import { MemoryLog } from '../support/memory-log.js';
import { run } from '../../src/actions/swarm-deploy/main.js';

const values = JSON.parse(process.env.DEPLOY_INPUTS ?? '{}') as Record<string, string>;
const log = new MemoryLog();
let failure: string | undefined;
await run({
  inputs: new Inputs(mapInputs(values), (v) => log.mask(v)),
  log,
  hooks: { setOutput: () => undefined, setFailed: (m) => void (failure = m) },
});
process.stdout.write(`${failure ?? 'finished'}\n`);
