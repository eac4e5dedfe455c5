// `npm run lab [up|down|env]`: bring the local lab up (idempotent), take down what it started, or print its settings.
import { labDown, labInfo, labUp } from '../lab/lab.js';

const command = process.argv[2] ?? 'up';
const say = (line: string) => console.log(line);
if (command === 'up') {
  const info = await labUp(say);
  console.log(
    `lab: ready — swarm manager over ssh ${info.ssh.user}@${info.ssh.host}:${info.ssh.port}, registry ${info.registry}`,
  );
} else if (command === 'down') {
  await labDown(say);
  console.log('lab: down');
} else if (command === 'env') {
  console.log(JSON.stringify(labInfo(), null, 2));
} else {
  console.error('usage: npm run lab -- [up|down|env]');
  process.exitCode = 2;
}
