import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openLocalDatabase } from '../../src/local/throwaway-mysql.js';
import { ensureFaketime } from '../faults/faketime.js';
import { buildPrebuilt, usePrebuilt } from './prebuilt.js';

interface RunResources {
  readonly runDir: string;
  readonly mysqlServerUrl: string;
  stop(): Promise<void>;
}

async function start(): Promise<RunResources> {
  const runDir = await mkdtemp(join(tmpdir(), 'lease-guard-test-run-'));
  // The database clock scenarios (test/faults/database-faults.test.ts) preload libfaketime: installed
  // here, once, the way the server is (apt-get as root on Debian/Ubuntu, saying so); elsewhere that
  // file fails with the install command, since a clock guarantee left unchecked is not a pass.
  ensureFaketime({ install: true, log: (line) => process.stderr.write(`lease-guard tests: ${line}\n`) });
  // Inherited by the test workers, and by the fleets and other children they start.
  const prebuilt = await buildPrebuilt();
  usePrebuilt(prebuilt.dir);
  const database = await openLocalDatabase({ database: 'lease_guard_tests' });
  const server = new URL(database.url);
  server.pathname = '/';
  return {
    runDir,
    mysqlServerUrl: server.toString(),
    async stop() {
      await database.stop();
      await prebuilt.remove();
      await rm(runDir, { recursive: true, force: true });
    },
  };
}

// Vitest calls this once for the root and once per project, all in its main process: one server,
// one run directory and one set of prebuilt child modules for the whole run, stopped by the last teardown.
const shared = globalThis as { leaseGuardRun?: { resources: Promise<RunResources>; users: number } };

export async function setup(project: TestProject): Promise<void> {
  shared.leaseGuardRun ??= { resources: start(), users: 0 };
  shared.leaseGuardRun.users++;
  const { runDir, mysqlServerUrl } = await shared.leaseGuardRun.resources;
  project.provide('runDir', runDir);
  project.provide('mysqlServerUrl', mysqlServerUrl);
}

export async function teardown(): Promise<void> {
  const run = shared.leaseGuardRun;
  if (!run || --run.users > 0) return;
  shared.leaseGuardRun = undefined;
  await (await run.resources).stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    mysqlServerUrl: string;
    /** A directory for the whole run, shared by the test files (e.g. the packed tarball); removed at the end. */
    runDir: string;
  }
}
