import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type LocalDatabase, openLocalDatabase } from '../../src/local/throwaway-mysql.js';

let database: LocalDatabase | undefined;
let runDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  runDir = await mkdtemp(join(tmpdir(), 'lease-guard-test-run-'));
  project.provide('runDir', runDir);
  database = await openLocalDatabase({ database: 'lease_guard_tests' });
  const server = new URL(database.url);
  server.pathname = '/';
  project.provide('mysqlServerUrl', server.toString());
}

export async function teardown(): Promise<void> {
  await database?.stop();
  if (runDir) await rm(runDir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    mysqlServerUrl: string;
    /** A directory for the whole run, shared by the test files (e.g. the packed tarball); removed at the end. */
    runDir: string;
  }
}
