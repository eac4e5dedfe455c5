import { labUp, sweep } from '../../lab/lab.js';

// One lab for the whole lab suite: brought up when absent, and swept of any `lt-` leftovers
// a killed earlier run left on the swarm (dockerd's state survives restarts).
export default async function setup(): Promise<void> {
  await labUp((line) => console.log(line));
  sweep('lt-');
}
