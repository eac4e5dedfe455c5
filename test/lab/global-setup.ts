import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { labUp, sweep } from '../../lab/lab.js';
import { describeLeaks, scanLab } from './secrets-scan.js';

// One lab for the whole lab suite: brought up when absent, and swept of any `lt-` leftovers
// a killed earlier run left on the swarm (dockerd's state survives restarts).
export default async function setup(): Promise<() => void> {
  const lab = await labUp((line) => console.log(line));
  // Only what is over an hour old: another run going on right now keeps its resources.
  sweep('lt-', 3_600_000);
  // Captures belong to one suite run: the scan after it looks only at what this run wrote.
  const captures = join(lab.dir, 'captures');
  rmSync(captures, { recursive: true, force: true });
  return () => {
    const leaks = scanLab(captures, lab.ssh.privateKeyPath);
    if (leaks.length > 0) throw new Error(describeLeaks(leaks));
    console.log('secrets scan: no secret value or private key line in any captured log, summary or output');
  };
}
