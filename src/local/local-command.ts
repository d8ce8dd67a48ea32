/**
 * `lease-guard local`: a database (throwaway, or LEASE_GUARD_MYSQL_URL), the local Data API
 * server in front of it, the lease table migrated, and the environment that points the SDK and
 * lease-guard at them. Runs until SIGINT or SIGTERM, then cleans up.
 */
import { createServer } from 'node:net';
import mysql from 'mysql2/promise';
import { DEFAULTS, LEASE_ENV } from '../constants.js';
import { leaseEnv } from '../env.js';
import { LeaseGuardConfigError, LeaseGuardError } from '../errors.js';
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
  /** The database behind the server (`mysql://…`), and what to call it in messages. */
  readonly database: { readonly url: string; readonly name: string };
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
  // Before the database starts: a taken port should cost the user a second, not a server start.
  if (port !== 0) await assertPortFree(port, LOCAL_HOST);
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
    server = await startDataApiServer({ mysqlUrl: database.url, port, host: LOCAL_HOST });
  } catch (error) {
    await database.stop();
    // Taken meanwhile, after the check above.
    if ((error as { cause?: NodeJS.ErrnoException }).cause?.code === 'EADDRINUSE') throw portTaken(port, error);
    throw error;
  }
  const name =
    'dataDir' in database
      ? `${(database as ThrowawayMysql).flavor} (pid ${(database as ThrowawayMysql).pid})`
      : redact(new URL(database.url));
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
    database: { url: database.url, name },
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
    const watch = watchDatabase(local.database.url);
    const outcome = await Promise.race([
      firstRequest.then((reason) => ({ reason, lost: undefined })),
      watch.lost.then((lost) => ({ reason: undefined, lost })),
    ]);
    watch.close();
    if (outcome.lost !== undefined) {
      note(`lease-guard local: the database ${local.database.name} went away (${outcome.lost}); stopping…`);
      await local.stop();
      throw new LeaseGuardError(
        `the database ${local.database.name} went away (${outcome.lost}), so the Data API server could not answer any more; it was stopped. Run \`lease-guard local\` again.`,
      );
    }
    note(`lease-guard local: ${outcome.reason}, stopping…`);
    await local.stop();
    note('lease-guard local: stopped.');
  } finally {
    dispose();
  }
}

const LOCAL_HOST = '127.0.0.1';

function portTaken(port: number, cause?: unknown): LeaseGuardConfigError {
  return new LeaseGuardConfigError(
    `Port ${port} on ${LOCAL_HOST} is already in use: pass --port with another port, or --port 0 to pick a free one.`,
    { cause },
  );
}

/** Fails with the `--port` advice when something already listens on the port. */
async function assertPortFree(port: number, host: string): Promise<void> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, host, resolve);
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw portTaken(port, error);
    throw error;
  } finally {
    await new Promise((resolve) => probe.close(resolve));
  }
}

/**
 * Holds one idle connection to the database and resolves `lost` when the server is gone: the
 * connection drops (a killed server closes its sockets at once) and a new one cannot be opened.
 * A connection the server merely timed out (wait_timeout) is replaced and watched again.
 */
function watchDatabase(url: string): { readonly lost: Promise<string>; close(): void } {
  let closed = false;
  let connection: mysql.Connection | undefined;
  let reportLost: (why: string) => void = () => undefined;
  const lost = new Promise<string>((resolve) => {
    reportLost = resolve;
  });
  async function open(): Promise<void> {
    let next: mysql.Connection;
    try {
      next = await mysql.createConnection({ uri: url, connectTimeout: 5_000 });
    } catch (error) {
      if (!closed) reportLost((error as NodeJS.ErrnoException).code ?? String(error));
      return;
    }
    if (closed) {
      next.destroy();
      return;
    }
    connection = next;
    // The connection's 'error' (PROTOCOL_CONNECTION_LOST) or 'end': try once to reconnect.
    let handled = false;
    const dropped = (): void => {
      if (handled || closed) return;
      handled = true;
      void open();
    };
    next.on('error', dropped);
    next.on('end', dropped);
  }
  void open();
  return {
    lost,
    close() {
      closed = true;
      connection?.destroy();
    },
  };
}
