import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Two cores: unit files run two at a time; lab files two at a time on the one shared lab.
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      {
        // The inlined workflow parser's published source maps name sources it does not ship: vite
        // warns once per file, for nothing to fix here. Errors still show.
        logLevel: 'error',
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/unit/setup.ts'],
          pool: 'threads',
          // GitHub's workflow parser imports its JSON schema without an import attribute, which
          // Node's own loader refuses; transformed by the test runner, it loads.
          server: { deps: { inline: ['@actions/workflow-parser'] } },
          // A few unit tests run a committed bundle in its own Node 24 process, as the runner does:
          // seconds each on a loaded 2-core machine, so the 5 s default would fail them by chance.
          testTimeout: 30_000,
        },
      },
      {
        logLevel: 'error',
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts'],
          globalSetup: ['test/lab/global-setup.ts'],
          // Lab tests share one swarm; files run two at a time, each test uses its own client names.
          pool: 'forks',
          // Tests a file runs side by side (describe.concurrent), each on a client of its own.
          maxConcurrency: 4,
          server: { deps: { inline: ['@actions/workflow-parser'] } },
          testTimeout: 240_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
