import { labUp, sweep } from '../../lab/lab.js';

// One lab for the whole lab suite: brought up when absent, and swept of any `lt-` leftovers
// a killed earlier run left on the swarm (dockerd's state survives restarts).
export default async function setup(): Promise<void> {
  await labUp((line) => console.log(line));
  // Only what is over an hour old: another run going on right now keeps its resources.
  sweep('lt-', 3_600_000);
}
