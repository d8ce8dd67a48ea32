import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/support/sequencer.js';

/**
 * Files that leave nothing behind in their process (no environment changes they do not undo, no
 * timers, signal handlers or exits), so one worker runs them one after another without a fresh
 * process each: aws-cdk-lib and the AWS SDK are imported once per worker, not once per file.
 */
const SHARED_PROCESS = [
  'test/infra/**/*.test.ts',
  'test/contract/**/*.test.ts',
  'test/sql/**/*.test.ts',
  'test/lease/**/*.test.ts',
  'test/guard/**/*.test.ts',
  'test/bench/**/*.test.ts',
  'test/local/data-api-*.test.ts',
];

export default defineConfig({
  // The example app imports the CDK constructs as users do (`lease-guard/cdk`); here, the source.
  resolve: { alias: { 'lease-guard/cdk': fileURLToPath(new URL('./src/cdk/index.ts', import.meta.url)) } },
  test: {
    // One throwaway MariaDB/MySQL server for the whole run; each test file makes its own database.
    globalSetup: ['test/support/global-setup.ts'],
    // The AWS SDK's nine-line Node 22 notice, once per worker and child: noise in the test output
    // (the processes the project starts turn it off; src/cli/quiet-sdk-warning.ts).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // Three per core: many files mostly wait (on leases, frozen or paused processes, child
    // processes), so fewer workers leave the cores idle (measured on 2 cores: 4 workers 114 s wall
    // at 148% CPU, 6 workers 100 s at 177%). The fault and fleet files set their leases and
    // deadlines for a loaded machine (they also pass under `npm run faults -- --cpu-load 2`).
    maxWorkers: Math.max(6, availableParallelism() * 3),
    sequence: { sequencer: LongestFirstSequencer },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'isolated', include: ['test/**/*.test.ts'], exclude: SHARED_PROCESS } },
      { extends: true, test: { name: 'shared-process', include: SHARED_PROCESS, isolate: false } },
    ],
  },
});
