/**
 * `lease-guard local`: a database (throwaway, or LEASE_GUARD_MYSQL_URL), the local Data API
 * server in front of it, the lease table migrated, and the environment that points the SDK and
 * lease-guard at them. Runs until SIGINT or SIGTERM, then cleans up.
 */
import { DEFAULTS, LEASE_ENV } from '../constants.js';
import { leaseEnv } from '../env.js';
import { LeaseGuardConfigError } from '../errors.js';
import { assertTableName } from '../lease/names.js';
import { migrate } from '../lease/schema.js';
import { createMysql2Executor } from '../sql/mysql2-executor.js';
import { redact } from './data-api/database.js';
import { type DataApiServer, startDataApiServer } from './data-api/index.js';
import { onStopRequest, type StopReason } from './stop-requests.js';
import { openLocalDatabase, type ThrowawayMysql } from './throwaway-mysql.js';

/** ARNs of the local "cluster": the server accepts any, these just look like real ones. */
export const LOCAL_ARNS = {
  resourceArn: 'arn:aws:rds:us-east-1:000000000000:cluster:lease-guard-local',
  secretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:lease-guard-local',
} as const;

export const DEFAULT_LOCAL_PORT = 8080;

export interface LocalOptions {
  /** Port of the Data API server; 0 picks a free one. @default 8080 */
  readonly port?: number;
  /** @default 'lease_guard' */
  readonly table?: string;
  /** A running MySQL/MariaDB server to use instead of a throwaway one. @default - LEASE_GUARD_MYSQL_URL */
  readonly mysqlUrl?: string | undefined;
  /** Print the environment as one JSON object instead of `export` lines. @default false */
  readonly json?: boolean;
  /** Where the environment goes. @default process.stdout */
  readonly out?: (text: string) => void;
  /** Where notes for the human go. @default process.stderr */
  readonly note?: (line: string) => void;
}

/** The variables that point the SDK (AWS_ENDPOINT_URL_RDS_DATA) and lease-guard at the local server. */
export interface LocalEnvironment {
  readonly AWS_ENDPOINT_URL_RDS_DATA: string;
  readonly AWS_REGION: string;
  readonly AWS_ACCESS_KEY_ID: string;
  readonly AWS_SECRET_ACCESS_KEY: string;
  readonly LEASE_GUARD_RESOURCE_ARN: string;
  readonly LEASE_GUARD_SECRET_ARN: string;
  readonly LEASE_GUARD_DATABASE: string;
  readonly LEASE_GUARD_TABLE: string;
}

export interface RunningLocal {
  readonly env: LocalEnvironment;
  readonly server: DataApiServer;
  /** Stops the server, then the throwaway database (an external one is left alone). */
  stop(): Promise<void>;
}

/** Starts everything and returns once the table is ready. */
export async function startLocal(
  options: Pick<LocalOptions, 'port' | 'table' | 'mysqlUrl' | 'note'> = {},
): Promise<RunningLocal> {
  const table = assertTableName(options.table ?? DEFAULTS.table, '--table');
  const port = options.port ?? DEFAULT_LOCAL_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new LeaseGuardConfigError(`--port must be an integer from 0 to 65535, got ${String(port)}.`);
  }
  const external = options.mysqlUrl || leaseEnv('MYSQL_URL');
  options.note?.(
    external
      ? `lease-guard local: using ${redact(new URL(external))}`
      : 'lease-guard local: starting a throwaway database…',
  );
  const database = await openLocalDatabase({ mysqlUrl: external });
  if ('dataDir' in database) {
    const throwaway = database as ThrowawayMysql;
    options.note?.(`lease-guard local: ${throwaway.flavor} pid ${throwaway.pid}, data in ${throwaway.dataDir}`);
  }
  let server: DataApiServer | undefined;
  try {
    const executor = createMysql2Executor({ url: database.url, connectionLimit: 1 });
    try {
      await migrate(executor, table);
    } finally {
      await executor.close();
    }
    server = await startDataApiServer({ mysqlUrl: database.url, port });
  } catch (error) {
    await database.stop();
    throw error;
  }
  const running = server;
  const env: LocalEnvironment = {
    AWS_ENDPOINT_URL_RDS_DATA: running.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    [LEASE_ENV.RESOURCE_ARN]: LOCAL_ARNS.resourceArn,
    [LEASE_ENV.SECRET_ARN]: LOCAL_ARNS.secretArn,
    [LEASE_ENV.DATABASE]: database.database,
    [LEASE_ENV.TABLE]: table,
  };
  let stopping: Promise<void> | undefined;
  return {
    env,
    server: running,
    stop() {
      stopping ??= running.close().finally(() => database.stop());
      return stopping;
    },
  };
}

/**
 * `lease-guard local`: starts, prints the environment, and runs until a stop request (Ctrl-C,
 * SIGTERM, SIGHUP from a closed terminal, or its parent process exiting).
 */
export async function runLocal(options: LocalOptions = {}): Promise<void> {
  const out = options.out ?? ((text) => process.stdout.write(text));
  const note = options.note ?? ((line) => process.stderr.write(`${line}\n`));
  // Listen before starting: a request during start-up still gets a clean stop once start-up is done.
  let requested: (reason: StopReason) => void = () => undefined;
  const firstRequest = new Promise<StopReason>((resolve) => {
    requested = resolve;
  });
  let requests = 0;
  const dispose = onStopRequest((reason) => {
    requests++;
    // A second request during cleanup means "now": the database's exit hook and reaper still stop it.
    if (requests > 1) process.exit(130);
    requested(reason);
  });
  try {
    const local = await startLocal({ ...options, note });
    if (options.json) {
      out(`${JSON.stringify(local.env)}\n`);
    } else {
      out(
        Object.entries(local.env)
          .map(([name, value]) => `export ${name}='${value}'\n`)
          .join(''),
      );
    }
    note(
      `lease-guard local: Data API at ${local.server.url}, database ${local.env.LEASE_GUARD_DATABASE}, table ${local.env.LEASE_GUARD_TABLE} ready. Paste the lines above into another shell; Ctrl-C here stops everything.`,
    );
    note(`lease-guard local: ${await firstRequest}, stopping…`);
    await local.stop();
    note('lease-guard local: stopped.');
  } finally {
    dispose();
  }
}
