/**
 * A deploy step as its own process, for the drill that kills the runner while it holds the deploy
 * lock: `node --import tsx test/lab/drill-deploy.ts` with the inputs as JSON in DRILL_INPUTS.
 * It prints "lock held" once the lock is taken, so the drill knows when to kill it.
 */
import { Inputs, mapInputs } from '../../src/core/inputs.js';
import { ConsoleLog } from '../../src/core/log.js';
import { memoryState } from '../../src/core/run.js';
import { run } from '../../src/actions/swarm-deploy/main.js';

const values = JSON.parse(process.env.DRILL_INPUTS ?? '{}') as Record<string, string>;
const log = new ConsoleLog((line) => console.log(line));
const state = memoryState();
await run({
  inputs: new Inputs(mapInputs(values), (v) => log.mask(v)),
  log,
  hooks: {
    setOutput: (name, value) => console.log(`output ${name}=${value}`),
    setFailed: (message) => console.log(`failed: ${message}`),
    state: {
      save: (name, value) => {
        state.save(name, value);
        if (name === 'lock' && value) console.log('lock held');
      },
      get: (name) => state.get(name),
    },
  },
});
