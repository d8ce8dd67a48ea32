import type { TestProject } from 'vitest/node';
import { type LocalDatabase, openLocalDatabase } from '../../src/local/throwaway-mysql.js';

let database: LocalDatabase | undefined;

export async function setup(project: TestProject): Promise<void> {
  database = await openLocalDatabase({ database: 'lease_guard_tests' });
  const server = new URL(database.url);
  server.pathname = '/';
  project.provide('mysqlServerUrl', server.toString());
}

export async function teardown(): Promise<void> {
  await database?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    mysqlServerUrl: string;
  }
}
