/**
 * What a fleet runs against: a database (throwaway, LEASE_GUARD_MYSQL_URL, or a given URL), the
 * lease table, the local Data API server in this process, and the variables that point a
 * worker's guard and SDK at them, as `lease-guard local` prints them.
 */
import { DEFAULTS, LEASE_ENV } from '../constants.js';
import { assertTableName } from '../lease/names.js';
import { migrate } from '../lease/schema.js';
import { fromSqlTime } from '../lease/time.js';
import { type DataApiServer, startDataApiServer } from '../local/data-api/index.js';
import { LOCAL_ARNS } from '../local/local-command.js';
import { type LocalDatabase, openLocalDatabase, type ThrowawayMysql } from '../local/throwaway-mysql.js';
import type { SqlExecutor } from '../sql/executor.js';
import { createMysql2Executor } from '../sql/mysql2-executor.js';

export interface FleetEnvironmentOptions {
  /** A running server's database to use (created when missing). @default - LEASE_GUARD_MYSQL_URL, else a throwaway server */
  readonly mysqlUrl?: string;
  /** @default 'lease_guard' */
  readonly table?: string;
  /** The region of the "cluster" the workers' Data API calls go to. @default 'us-east-1' */
  readonly clusterRegion?: string;
}

export interface FleetEnvironment {
  readonly mysqlUrl: string;
  readonly database: string;
  readonly table: string;
  readonly dataApi: DataApiServer;
  /** A throwaway server this environment started (its pid is the database nemeses' target), or null. */
  readonly throwaway: ThrowawayMysql | null;
  /** A direct connection for set-up, inspection and the final register read (not the workers' path). */
  readonly executor: SqlExecutor;
  /** Variables for every worker. */
  readonly workerEnv: Readonly<Record<string, string>>;
  /** The database clock: ticks must be real times it accepts. */
  databaseNow(): Promise<Date>;
  /** Closes the server and the connection, then stops a throwaway database. */
  stop(): Promise<void>;
}

function isThrowaway(database: LocalDatabase): database is ThrowawayMysql {
  return 'kill' in database && 'restart' in database;
}

export async function startFleetEnvironment(options: FleetEnvironmentOptions = {}): Promise<FleetEnvironment> {
  const table = assertTableName(options.table ?? DEFAULTS.table, 'table');
  // A URL without a database gets the default one, created like any missing database.
  const local = await openLocalDatabase({ mysqlUrl: options.mysqlUrl });
  const { url: mysqlUrl, database } = local;
  const executor = createMysql2Executor({ url: mysqlUrl, connectionLimit: 2 });
  let dataApi: DataApiServer;
  try {
    await migrate(executor, table);
    dataApi = await startDataApiServer({ mysqlUrl });
  } catch (error) {
    await executor.close();
    await local.stop();
    throw error;
  }
  const clusterRegion = options.clusterRegion ?? 'us-east-1';
  let stopping: Promise<void> | undefined;
  return {
    mysqlUrl,
    database,
    table,
    dataApi,
    throwaway: isThrowaway(local) ? local : null,
    executor,
    workerEnv: {
      AWS_ENDPOINT_URL_RDS_DATA: dataApi.url,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      [LEASE_ENV.REGION]: clusterRegion,
      [LEASE_ENV.RESOURCE_ARN]: LOCAL_ARNS.resourceArn,
      [LEASE_ENV.SECRET_ARN]: LOCAL_ARNS.secretArn,
      [LEASE_ENV.DATABASE]: database,
      [LEASE_ENV.TABLE]: table,
    },
    async databaseNow() {
      const { rows } = await executor.execute({ sql: 'SELECT UTC_TIMESTAMP(6) AS now' });
      return fromSqlTime(rows[0]?.now) as Date;
    },
    stop() {
      stopping ??= (async () => {
        await dataApi.close();
        await executor.close();
        await local.stop();
      })();
      return stopping;
    },
  };
}
