import type { PoolConnection as CoreConnection, PrepareStatementInfo } from 'mysql2';
import mysql from 'mysql2/promise';
import { LeaseStoreError, StoreErrorKind } from '../errors.js';
import { abortedError, classifyMysqlError } from './classify.js';
import type { ExecuteOptions, SqlExecutor, SqlResult, SqlRow, SqlStatement, SqlValue } from './executor.js';
import { type PositionalSql, toPositional } from './placeholders.js';

export interface Mysql2ExecutorOptions {
  /** `mysql://user:password@host:port/database`. */
  readonly url: string;
  /**
   * Report matched rows (mysql2's default, like JDBC and the Data API) or changed rows.
   * The protocol gives the same answers either way; the contract suite runs both.
   * @default true
   */
  readonly foundRows?: boolean;
  /**
   * Session `time_zone` to set on every connection. The protocol uses only UTC_TIMESTAMP and
   * DATETIME, so any zone gives the same answers; the contract suite proves it.
   * @default '+00:00'
   */
  readonly sessionTimeZone?: string;
  /** @default 10 */
  readonly connectionLimit?: number;
  /** More statements to run on each new connection, e.g. a server setting a test must cover. */
  readonly sessionStatements?: readonly string[];
  /**
   * mysql2's own limit on opening a connection. A call's `signal` stops waiting sooner: the
   * connection, when it comes, goes back to the pool.
   * @default 10000
   */
  readonly connectTimeoutMs?: number;
}

/**
 * The executor port over a mysql2 pool, `:name` placeholders, integers as numbers, DATETIME and
 * DECIMAL as text, as the Data API returns them. Writes with parameters (the lease statements, sent
 * on every invocation) go as server-side prepared statements, prepared once per connection and
 * statement text (mysql2 keeps them), so the server does not parse a claim again for every
 * invocation; reads and everything else use the text protocol, whose result types the port defines.
 */
export function createMysql2Executor(options: Mysql2ExecutorOptions): SqlExecutor {
  const timeZone = options.sessionTimeZone ?? '+00:00';
  const pool = mysql.createPool({
    uri: options.url,
    namedPlaceholders: true,
    dateStrings: true,
    supportBigNumbers: true,
    decimalNumbers: false,
    multipleStatements: false,
    connectionLimit: options.connectionLimit ?? 10,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    flags: options.foundRows === false ? ['-FOUND_ROWS'] : ['FOUND_ROWS'],
  });
  // mysql2's pool exposes the raw callback connection here; set the zone before first use.
  pool.pool.on('connection', (connection) => {
    connection.query(`SET time_zone = ${mysql.escape(timeZone)}`);
    for (const sql of options.sessionStatements ?? []) connection.query(sql);
  });

  // Per statement text, decided once: how it is sent.
  const plans = new Map<string, Plan>();
  function planOf(statement: SqlStatement): Plan {
    let plan = plans.get(statement.sql);
    if (plan === undefined) {
      const prepared = statement.params !== undefined && PREPARED_WRITE.test(statement.sql);
      plan = { prepared, positional: prepared ? toPositional(statement.sql) : undefined };
      plans.set(statement.sql, plan);
    }
    return plan;
  }

  /**
   * One statement, within the caller's deadline when there is one, with one abort listener for
   * both of its stages. Opening a connection (a black-holed server) must not outlast the attempt:
   * nothing was sent yet, so giving up there is not ambiguous, and the connection, when it comes,
   * goes back to the pool. Giving up on the answer is ambiguous: the statement may still commit,
   * so that connection is destroyed, never handed to someone else. mysql2's callback API is used
   * underneath its promise wrapper, which captures a stack trace for every call.
   */
  function execute(statement: SqlStatement, execOptions?: ExecuteOptions): Promise<SqlResult> {
    // The plain deadline when the caller gives one (no AbortSignal made), else the signal.
    const deadline = execOptions?.deadline;
    const signal = deadline ? undefined : execOptions?.signal;
    const reason = (): unknown => (deadline ? deadline.reason : signal?.reason);
    return new Promise<SqlResult>((resolve, reject) => {
      if (deadline?.expired || signal?.aborted) throw abortedError(reason());
      const { sql } = statement;
      const params = (statement.params ?? {}) as Record<string, SqlValue>;
      const plan = planOf(statement);
      let connection: CoreConnection | undefined;
      let done = false;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        deadline?.offExpire(onAbort);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = (): void => {
        if (!finish()) return;
        if (connection === undefined) {
          reject(connectAbortedError(reason()));
          return;
        }
        connection.destroy();
        reject(abortedError(reason()));
      };
      if (deadline) deadline.onExpire(onAbort);
      else signal?.addEventListener('abort', onAbort);
      pool.pool.getConnection((error, opened) => {
        if (done) {
          if (!error) opened.release();
          return;
        }
        if (error) {
          finish();
          reject(classifyMysqlError(error));
          return;
        }
        connection = opened;
        const answered = (queryError: unknown, result: unknown): void => {
          if (!finish()) return; // abandoned at the deadline: that connection is gone
          opened.release();
          if (queryError) reject(classifyMysqlError(queryError));
          else resolve(toResult(result));
        };
        try {
          send(opened, sql, params, plan, answered);
        } catch (sendError) {
          // mysql2 refuses some parameters (undefined) before sending anything.
          answered(sendError, undefined);
        }
      });
    });
  }

  return {
    execute,
    // One database: no parameter of its own (a global database is reached through the Data API).
    binds: [],
    async close() {
      await pool.end();
    },
  };
}

const PREPARED_WRITE = /^\s*(UPDATE|INSERT|DELETE)\b/i;

/** How a statement text is sent: a write with parameters as a server-side prepared statement. */
interface Plan {
  readonly prepared: boolean;
  /** Its placeholders as positions, when it converts the way mysql2 would. */
  readonly positional: PositionalSql | undefined;
}

/**
 * Prepared statements per connection and text, prepared on first use. Executing one by its handle
 * skips mysql2's per-call work (named-placeholder conversion, and two lookups in its statement
 * cache keyed by the whole SQL text, built anew on each call). mysql2 closes statements its cache
 * evicts (beyond `maxPreparedStatements`, 16000); kept below that, none of these ever is.
 */
const statements = new WeakMap<CoreConnection, Map<string, PrepareStatementInfo>>();
const MAX_STATEMENTS_PER_CONNECTION = 256;

type Callback = (error: unknown, result: unknown) => void;

function send(
  connection: CoreConnection,
  sql: string,
  params: Record<string, SqlValue>,
  plan: Plan,
  done: Callback,
): void {
  if (!plan.prepared) {
    connection.query(sql, params, done);
    return;
  }
  const positional = plan.positional;
  const values = positional?.names.map((name) => params[name]);
  // A missing or odd parameter: mysql2's own path gives its own error for it.
  if (positional === undefined || values === undefined || !values.every(isBindable)) {
    connection.execute(sql, params, done);
    return;
  }
  let cache = statements.get(connection);
  if (cache === undefined) {
    cache = new Map();
    statements.set(connection, cache);
  }
  const known = cache.get(sql);
  if (known) {
    known.execute(values, done);
    return;
  }
  if (cache.size >= MAX_STATEMENTS_PER_CONNECTION) {
    // Rare texts past the bound are prepared for this call only, so they never evict ours.
    connection.execute(positional.sql, values, (error: unknown, result: unknown) => {
      connection.unprepare(positional.sql);
      done(error, result);
    });
    return;
  }
  const texts = cache;
  connection.prepare(positional.sql, (error, prepared) => {
    if (error) {
      done(error, undefined);
      return;
    }
    texts.set(sql, prepared);
    prepared.execute(values, done);
  });
}

function isBindable(value: SqlValue | undefined): value is SqlValue {
  return value !== undefined && typeof value !== 'function';
}

function toResult(result: unknown): SqlResult {
  if (Array.isArray(result)) {
    return { affectedRows: 0, insertId: undefined, rows: result.map(toRow) };
  }
  const header = result as mysql.ResultSetHeader;
  return { affectedRows: header.affectedRows, insertId: Number(header.insertId), rows: [] };
}

function toRow(row: Record<string, unknown>): SqlRow {
  const out: Record<string, SqlRow[string]> = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] = Buffer.isBuffer(value) ? new Uint8Array(value) : (value as SqlRow[string]);
  }
  return out;
}

/** The deadline passed while opening a connection: transient, and not ambiguous (nothing was sent). */
function connectAbortedError(reason: unknown): LeaseStoreError {
  return new LeaseStoreError(
    'No connection to MySQL opened before the deadline; the statement was not sent.',
    { kind: StoreErrorKind.TRANSIENT, code: 'ConnectTimeout' },
    { cause: reason },
  );
}
