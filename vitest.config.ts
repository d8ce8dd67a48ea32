import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The example app imports the CDK constructs as users do (`lease-guard/cdk`); here, the source.
  resolve: { alias: { 'lease-guard/cdk': fileURLToPath(new URL('./src/cdk/index.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    // One throwaway MariaDB/MySQL server for the whole run; each test file makes its own database.
    globalSetup: ['test/support/global-setup.ts'],
    // Most files wait on the database, child processes and leases, not on the CPU: run more files at
    // once than there are cores (vitest's default is cores - 1, a single file at a time on 2 cores).
    maxWorkers: Math.max(4, availableParallelism()),
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
