import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The example app imports the CDK constructs as users do (`lease-guard/cdk`); here, the source.
  resolve: { alias: { 'lease-guard/cdk': fileURLToPath(new URL('./src/cdk/index.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    // One throwaway MariaDB/MySQL server for the whole run; each test file makes its own database.
    globalSetup: ['test/support/global-setup.ts'],
    // Two files at once at least: most wait on the database, child processes and leases, so they
    // overlap well (vitest's default, cores - 1, runs one file at a time on 2 cores). Not more than the
    // cores: the fault and fleet files run process fleets on compressed, lease-timed schedules, and
    // 4 at once on 2 loaded cores starved them into failures.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
