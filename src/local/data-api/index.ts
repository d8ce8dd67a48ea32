/**
 * A local RDS Data API server over MySQL or MariaDB that `@aws-sdk/client-rds-data` cannot tell
 * from the service (wire facts in docs/data-api.md). Point the SDK at it with
 * `AWS_ENDPOINT_URL_RDS_DATA=<url>` or the client's `endpoint`; any ARNs are accepted.
 */
import type { AddressInfo } from 'node:net';
import { LeaseGuardConfigError, LeaseGuardError } from '../../errors.js';
import { type ClusterRoleOptions, createClusterRole } from './cluster-role.js';
import { openDatabase } from './database.js';
import type { DataApiSwitches, ExecutionContext } from './execute.js';
import { createFaultTable, type FaultInjector } from './faults.js';
import { createDataApiHttpServer } from './server.js';
import { createTransactionRegistry } from './transactions.js';

export type { RowsCount } from './database.js';
export type { DataApiExceptionName } from './errors.js';
export { DATA_API_EXCEPTIONS } from './errors.js';
export type { DataApiSwitches } from './execute.js';
export type { FaultEffect, FaultHandle, FaultInjector, FaultRule, FaultScope } from './faults.js';
export { DataApiOperation } from './faults.js';

export interface DataApiServerOptions extends Partial<DataApiSwitches>, ClusterRoleOptions {
  /** `mysql://user:password@host:port/database`; the database is the default for requests without one. */
  readonly mysqlUrl: string;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Per call; at the deadline the statement is killed and the call answers StatementTimeoutException. @default 45000 */
  readonly statementTimeoutMs?: number;
  /** An idle transaction is rolled back after this long. @default 180000 */
  readonly transactionIdleTimeoutMs?: number;
  /** @default 86400000 */
  readonly transactionMaxLifeMs?: number;
  /** @default 1048576 (1 MiB) */
  readonly maxResponseBytes?: number;
  /** @default 10485760 (10 MB, the limit on `formattedRecords`) */
  readonly maxFormattedRecordsBytes?: number;
  /** @default 4194304 (4 MiB) */
  readonly maxRequestBytes?: number;
  /** mysql2 connections per pool (one pool per database and row-count mode). @default 20 */
  readonly connectionLimit?: number;
  /** Where unexpected failures are reported. @default - stderr */
  readonly log?: (line: string) => void;
}

export interface DataApiServer {
  /** `http://host:port`, the value for `AWS_ENDPOINT_URL_RDS_DATA`. */
  readonly url: string;
  readonly port: number;
  readonly faults: FaultInjector;
  /** The switches in force now. */
  readonly switches: DataApiSwitches;
  /** Changes switches for the calls that start from now on. */
  setSwitches(switches: Partial<DataApiSwitches>): void;
  /** Stops listening, drops open connections, rolls back open transactions and closes the pools. */
  close(): Promise<void>;
}

/** The evidence's best guess for the real service (data-api.md, Q1 and Q3): JDBC behaviour. */
export const DEFAULT_SWITCHES: DataApiSwitches = { rowsCount: 'matched', generatedFieldsOnUpdate: 'jdbc' };

export async function startDataApiServer(options: DataApiServerOptions): Promise<DataApiServer> {
  let switches = checkSwitches({ ...DEFAULT_SWITCHES, ...pickSwitches(options) });
  const limits = {
    connectionLimit: positive(options.connectionLimit ?? 20, 'connectionLimit'),
    idleTimeoutMs: positive(options.transactionIdleTimeoutMs ?? 180_000, 'transactionIdleTimeoutMs'),
    maxLifeMs: positive(options.transactionMaxLifeMs ?? 86_400_000, 'transactionMaxLifeMs'),
    statementTimeoutMs: positive(options.statementTimeoutMs ?? 45_000, 'statementTimeoutMs'),
    maxResponseBytes: positive(options.maxResponseBytes ?? 1024 * 1024, 'maxResponseBytes'),
    maxFormattedRecordsBytes: positive(
      options.maxFormattedRecordsBytes ?? 10 * 1024 * 1024,
      'maxFormattedRecordsBytes',
    ),
    maxRequestBytes: positive(options.maxRequestBytes ?? 4 * 1024 * 1024, 'maxRequestBytes'),
  };
  const database = await openDatabase({ mysqlUrl: options.mysqlUrl, connectionLimit: limits.connectionLimit });
  const transactions = createTransactionRegistry({
    idleTimeoutMs: limits.idleTimeoutMs,
    maxLifeMs: limits.maxLifeMs,
    killConnection: (threadId) => database.kill(threadId, 'connection'),
  });
  const ctx: ExecutionContext = {
    database,
    transactions,
    switches: () => switches,
    statementTimeoutMs: limits.statementTimeoutMs,
    maxResponseBytes: limits.maxResponseBytes,
    maxFormattedRecordsBytes: limits.maxFormattedRecordsBytes,
  };
  const faults = createFaultTable();
  const role = createClusterRole(options.mysqlUrl, options);
  const http = createDataApiHttpServer(ctx, faults, {
    maxRequestBytes: limits.maxRequestBytes,
    log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
    ...(options.clusterArn !== undefined || options.refuseWhenReadOnly ? { checkCluster: role.check } : {}),
  });
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await database.close();
    const code = (error as NodeJS.ErrnoException).code;
    throw new LeaseGuardError(
      code === 'EADDRINUSE'
        ? `Port ${options.port} on ${host} is already in use; choose another port.`
        : `The local Data API server could not listen on ${host}:${options.port ?? 0}.`,
      { cause: error },
    );
  }
  const { port } = http.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    faults,
    get switches() {
      return switches;
    },
    setSwitches(patch) {
      switches = checkSwitches({ ...switches, ...pickSwitches(patch) });
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeAllConnections();
        await stopped;
        await transactions.closeAll();
        await database.close();
        await role.close();
      })();
      return closing;
    },
  };
}

function pickSwitches(source: Partial<DataApiSwitches>): Partial<DataApiSwitches> {
  const picked: { -readonly [K in keyof DataApiSwitches]?: DataApiSwitches[K] } = {};
  if (source.rowsCount !== undefined) picked.rowsCount = source.rowsCount;
  if (source.generatedFieldsOnUpdate !== undefined) picked.generatedFieldsOnUpdate = source.generatedFieldsOnUpdate;
  return picked;
}

function checkSwitches(switches: DataApiSwitches): DataApiSwitches {
  if (switches.rowsCount !== 'matched' && switches.rowsCount !== 'changed') {
    throw new LeaseGuardConfigError(`rowsCount must be 'matched' or 'changed', got ${String(switches.rowsCount)}.`);
  }
  if (switches.generatedFieldsOnUpdate !== 'jdbc' && switches.generatedFieldsOnUpdate !== 'none') {
    throw new LeaseGuardConfigError(
      `generatedFieldsOnUpdate must be 'jdbc' or 'none', got ${String(switches.generatedFieldsOnUpdate)}.`,
    );
  }
  return Object.freeze({ ...switches });
}

function positive(value: number, option: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new LeaseGuardConfigError(`${option} must be a positive number, got ${String(value)}.`);
  }
  return value;
}
