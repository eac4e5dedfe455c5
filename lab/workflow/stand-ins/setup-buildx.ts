/**
 * docker/setup-buildx-action — the real action installs buildx if needed, creates a builder
 * (docker-container driver by default) and outputs `name`, `driver`, `platforms`, `nodes`,
 * `endpoint`, `status`, `flags`. The lab has no buildx and pulls no BuildKit image: the stand-in
 * reports the engine's own builder (driver `docker`, the node's platform); build-and-tag sees no
 * buildx and builds with the classic builder, as it does on a machine without the plugin.
 */
import { spawnSync } from 'node:child_process';
import type { StandIn } from './stand-in.js';

export const setupBuildx: StandIn = {
  uses: 'docker/setup-buildx-action',
  async run({ log }) {
    const info = spawnSync('docker', ['version', '--format', '{{.Server.Os}}/{{.Server.Arch}}'], { encoding: 'utf8' });
    if (info.status !== 0) return { outcome: 'failure', failure: `docker is not reachable: ${info.stderr.trim()}` };
    const platform = info.stdout.trim();
    log(`No buildx here: the engine's own builder (docker driver, ${platform})`);
    return {
      outcome: 'success',
      outputs: {
        name: 'default',
        driver: 'docker',
        platforms: platform,
        nodes: JSON.stringify([{ name: 'default', endpoint: 'default', status: 'running', platforms: platform }]),
        endpoint: 'default',
        status: 'running',
        flags: '',
      },
    };
  },
};
