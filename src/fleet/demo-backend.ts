/**
 * What the demo's fleet runs against: SQL (a throwaway MariaDB/MySQL, or the server at
 * --mysql-url / LEASE_GUARD_MYSQL_URL) behind the local Data API, or, on a machine with only
 * Node.js and npm, the in-memory store (`lease-guard/testing`, which passes the same contract
 * suite) in the supervisor, reached by the workers over IPC. Without SQL there is no database to
 * pause, no Data API to fault and no SQL register: those parts are skipped, and said so.
 */

import type { LeaseStore } from '../lease/lease-store.js';
import { redact } from '../local/data-api/database.js';
import type { DataApiServer } from '../local/data-api/index.js';
import { NoMysqlServerError } from '../local/find-mysql.js';
import type { ThrowawayMysql } from '../local/throwaway-mysql.js';
import { MemoryLeaseStore } from '../testing/memory-store.js';
import { DEMO_JOBS, DEMO_TABLE } from './demo-scenario.js';
import { type FleetEnvironment, startFleetEnvironment } from './environment.js';
import { readRegister, resetRegister } from './register.js';

export interface DemoBackend {
  readonly database: 'throwaway' | 'external' | 'memory';
  /** One line for the demo's header. */
  readonly description: string;
  readonly throwaway: ThrowawayMysql | null;
  readonly dataApi: DataApiServer | null;
  /** The store the workers reach over IPC; undefined when they use the Data API. */
  readonly store: LeaseStore | undefined;
  readonly workerEnv: Readonly<Record<string, string>>;
  /** The clock the lease arithmetic runs on; ticks must be recent on it. */
  databaseNow(): Promise<Date>;
  /** A reused database starts clean: the demo's own rows, an empty register. */
  reset(): Promise<void>;
  /** The fenced register's elements, or null when there is no SQL register. */
  readRegister(): Promise<string[] | null>;
  stop(): Promise<void>;
}

export interface DemoBackendOptions {
  readonly mysqlUrl?: string | undefined;
  /** `memory`: the in-memory store even where SQL is available. @default 'auto' */
  readonly store?: 'auto' | 'memory';
  /** @default startFleetEnvironment */
  readonly startSql?: typeof startFleetEnvironment;
}

export async function startDemoBackend(options: DemoBackendOptions = {}): Promise<DemoBackend> {
  if (options.store === 'memory') return memoryBackend('the in-memory store, as asked');
  let environment: FleetEnvironment;
  try {
    environment = await (options.startSql ?? startFleetEnvironment)({
      table: DEMO_TABLE,
      ...(options.mysqlUrl ? { mysqlUrl: options.mysqlUrl } : {}),
    });
  } catch (error) {
    if (!(error instanceof NoMysqlServerError)) throw error;
    return memoryBackend(
      'no MariaDB or MySQL server here, and none could be installed: running on the in-memory store (lease-guard/testing), without the database and Data API faults',
    );
  }
  return sqlBackend(environment);
}

function sqlBackend(environment: FleetEnvironment): DemoBackend {
  const { throwaway, dataApi, executor } = environment;
  return {
    database: throwaway ? 'throwaway' : 'external',
    description: `database: ${throwaway ? `throwaway ${throwaway.flavor} (pid ${throwaway.pid})` : redact(new URL(environment.mysqlUrl))}, lease table ${DEMO_TABLE}; local Data API at ${dataApi.url}`,
    throwaway,
    dataApi,
    store: undefined,
    workerEnv: environment.workerEnv,
    databaseNow: () => environment.databaseNow(),
    async reset() {
      await executor.execute({
        sql: `DELETE FROM ${DEMO_TABLE} WHERE job IN (:report, :sync)`,
        params: { report: DEMO_JOBS.REPORT, sync: DEMO_JOBS.SYNC },
      });
      await resetRegister(executor, DEMO_JOBS.REPORT);
    },
    readRegister: () => readRegister(executor, DEMO_JOBS.REPORT),
    stop: () => environment.stop(),
  };
}

function memoryBackend(why: string): DemoBackend {
  return {
    database: 'memory',
    description: `database: ${why}`,
    throwaway: null,
    dataApi: null,
    store: new MemoryLeaseStore(),
    workerEnv: {},
    databaseNow: async () => new Date(),
    async reset() {},
    readRegister: async () => null,
    async stop() {},
  };
}
