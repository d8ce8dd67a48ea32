/**
 * The five operations over MySQL: statements on a pooled connection (autocommit) or inside a
 * transaction, the statement timeout with `KILL QUERY`, and the response bodies with the service's
 * rules for `records`, `columnMetadata`, `formattedRecords` and `generatedFields`.
 */
import type { FieldPacket, PoolConnection, ResultSetHeader } from 'mysql2/promise';
import type { Database, RowsCount } from './database.js';
import { DataApiError, databaseError } from './errors.js';
import { type ColumnDefinition, columnMetadata, type Field, fieldReader, formattedValue } from './fields.js';
import { type JsonValue, stringifyJson } from './json.js';
import { bindParameters, type ParsedSql, parseSql } from './params.js';
import type {
  BatchExecuteStatementRequest,
  BeginTransactionRequest,
  EndTransactionRequest,
  ExecuteStatementRequest,
} from './requests.js';
import { type Transaction, TransactionEndReason, type TransactionRegistry } from './transactions.js';

/**
 * The unknowns of data-api.md, as switches. `rowsCount`: `numberOfRecordsUpdated` counts matched
 * rows (JDBC's default) or changed rows. `generatedFieldsOnUpdate`: for a statement that sets
 * `LAST_INSERT_ID(expr)`, `jdbc` reports the value when it is non-zero and a row was affected
 * (Connector/J's getGeneratedKeys); `none` reports generated keys for INSERT and REPLACE only.
 */
export interface DataApiSwitches {
  readonly rowsCount: RowsCount;
  readonly generatedFieldsOnUpdate: 'jdbc' | 'none';
}

export interface ExecutionContext {
  readonly database: Database;
  readonly transactions: TransactionRegistry;
  /** The switches now; read once per call, so a call sees one consistent set. */
  readonly switches: () => DataApiSwitches;
  readonly statementTimeoutMs: number;
  readonly maxResponseBytes: number;
  readonly maxFormattedRecordsBytes: number;
}

/** A call's hold on a statement that may outlive it (continueAfterTimeout, or one being killed). */
type Background = (settled: Promise<unknown>) => void;

interface StatementControl {
  readonly deadline: number;
  readonly continueAfterTimeout: boolean;
  readonly background: Background;
}

type QueryOutcome =
  | { readonly kind: 'rows'; readonly rows: readonly unknown[][]; readonly fields: readonly FieldPacket[] }
  | { readonly kind: 'update'; readonly header: ResultSetHeader };

const RESPONSE_TOO_LARGE = 'Database returned more than the allowed response size limit';

export async function executeStatement(ctx: ExecutionContext, request: ExecuteStatementRequest): Promise<string> {
  rejectSchema(request.schema);
  const parsed = parseSql(request.sql);
  const sql = bindParameters(parsed, request.parameters, bindOptions(ctx));
  const switches = ctx.switches();
  const deadline = Date.now() + ctx.statementTimeoutMs;
  const continueAfterTimeout = request.continueAfterTimeout === true;

  async function run(connection: PoolConnection, background: Background): Promise<string> {
    const outcome = await runStatement(ctx, connection, sql, { deadline, continueAfterTimeout, background });
    return executeResponse(ctx, request, parsed, outcome, switches);
  }

  if (request.transactionId === undefined) {
    return onOwnConnection(ctx, request.database, switches.rowsCount, run, changesSession(sql));
  }
  return ctx.transactions.use(request.transactionId, async (tx, background) => {
    try {
      return await run(tx.connection, background);
    } catch (error) {
      // A statement that keeps running after its timeout leaves the transaction alive but busy.
      if (!(continueAfterTimeout && isTimeout(error))) abort(ctx, tx);
      throw error;
    }
  });
}

export async function batchExecuteStatement(
  ctx: ExecutionContext,
  request: BatchExecuteStatementRequest,
): Promise<string> {
  rejectSchema(request.schema);
  const parsed = parseSql(request.sql);
  // Bind every set before running any, so a bad parameter changes nothing.
  const statements = (request.parameterSets ?? []).map((set) => bindParameters(parsed, set, bindOptions(ctx)));
  const switches = ctx.switches();
  const deadline = Date.now() + ctx.statementTimeoutMs;

  async function run(connection: PoolConnection, background: Background): Promise<string> {
    const updateResults: JsonValue[] = [];
    for (const sql of statements) {
      const outcome = await runStatement(ctx, connection, sql, { deadline, continueAfterTimeout: false, background });
      updateResults.push({
        generatedFields: outcome.kind === 'update' ? generatedFields(outcome.header, parsed, switches) : [],
      });
    }
    return stringifyJson({ updateResults });
  }

  if (request.transactionId === undefined) {
    // Without a transaction the batch is all or nothing.
    return onOwnConnection(
      ctx,
      request.database,
      switches.rowsCount,
      async (connection, background) => {
        await connection.query('START TRANSACTION').catch(rethrowAsDatabaseError);
        try {
          const body = await run(connection, background);
          await connection.query('COMMIT').catch(rethrowAsDatabaseError);
          return body;
        } catch (error) {
          // After a timeout the statement may still hold the connection; it is destroyed instead.
          if (!isTimeout(error)) await connection.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      },
      changesSession(request.sql),
    );
  }
  return ctx.transactions.use(request.transactionId, async (tx, background) => {
    try {
      return await run(tx.connection, background);
    } catch (error) {
      abort(ctx, tx);
      throw error;
    }
  });
}

export async function beginTransaction(ctx: ExecutionContext, request: BeginTransactionRequest): Promise<string> {
  rejectSchema(request.schema);
  const connection = await ctx.database.connect(request.database, ctx.switches().rowsCount);
  try {
    const tx = await ctx.transactions.begin(connection);
    return stringifyJson({ transactionId: tx.id });
  } catch (error) {
    connection.destroy();
    throw databaseError(error);
  }
}

export async function commitTransaction(ctx: ExecutionContext, request: EndTransactionRequest): Promise<string> {
  return ctx.transactions.use(request.transactionId, async (tx) => {
    try {
      await tx.connection.query('COMMIT');
    } catch (error) {
      abort(ctx, tx);
      throw databaseError(error);
    }
    await ctx.transactions.end(tx, TransactionEndReason.COMMITTED);
    return stringifyJson({ transactionStatus: 'Transaction Committed' });
  });
}

export async function rollbackTransaction(ctx: ExecutionContext, request: EndTransactionRequest): Promise<string> {
  return ctx.transactions.use(request.transactionId, async (tx) => {
    await ctx.transactions.end(tx, TransactionEndReason.ROLLED_BACK);
    return stringifyJson({ transactionStatus: 'Rollback Complete' });
  });
}

function rejectSchema(schema: string | undefined): void {
  if (schema !== undefined) throw new DataApiError('ValidationException', "The schema parameter isn't supported");
}

function bindOptions(ctx: ExecutionContext): { jsonCast: boolean } {
  return { jsonCast: ctx.database.info.flavor === 'mysql' };
}

function isTimeout(error: unknown): boolean {
  return error instanceof DataApiError && error.exception === 'StatementTimeoutException';
}

function rethrowAsDatabaseError(error: unknown): never {
  throw databaseError(error);
}

/** An error inside a transaction ends it; later calls get TransactionNotFoundException. */
function abort(ctx: ExecutionContext, tx: Transaction): void {
  void ctx.transactions.end(tx, TransactionEndReason.ABORTED);
}

// Statements that can leave state on the session (autocommit off, table locks, variables, a
// transaction, a temporary table that would shadow a real one): the next call must not inherit
// it, so their connection is closed, not pooled.
const SESSION_STATEMENT =
  /^\s*(?:(?:\/\*[\s\S]*?\*\/|--[^\n]*\n|#[^\n]*\n)\s*)*(?:(?:SET|LOCK|UNLOCK|USE|BEGIN|START|XA|SAVEPOINT|HANDLER|PREPARE|EXECUTE|DEALLOCATE|CALL|DO)\b|(?:CREATE\s+(?:OR\s+REPLACE\s+)?|DROP\s+)TEMPORARY\b|SELECT\b[\s\S]*(?::=|\bINTO\s+@))/i;

function changesSession(sql: string): boolean {
  return SESSION_STATEMENT.test(sql);
}

/**
 * Runs a call on a pooled connection of its own and returns the connection when nothing runs on
 * it and the call cannot have changed its session.
 */
async function onOwnConnection<T>(
  ctx: ExecutionContext,
  database: string | undefined,
  rowsCount: RowsCount,
  work: (connection: PoolConnection, background: Background) => Promise<T>,
  discard = false,
): Promise<T> {
  const connection = await ctx.database.connect(database, rowsCount);
  let lingering: Promise<unknown> | undefined;
  let broken = false;
  try {
    return await work(connection, (settled) => {
      lingering = settled;
    });
  } catch (error) {
    broken = (error as { cause?: { fatal?: unknown } }).cause?.fatal === true;
    throw error;
  } finally {
    // A connection that outlived its call may be mid-transaction or mid-statement: never reuse it.
    if (lingering) void lingering.then(() => connection.destroy());
    else if (broken || discard) connection.destroy();
    else connection.release();
  }
}

/**
 * Runs one statement with the call's deadline. At the deadline the call answers
 * StatementTimeoutException with the connection's thread id; the statement is killed unless the
 * caller asked it to continue, and either way it keeps the connection until it settles.
 */
async function runStatement(
  ctx: ExecutionContext,
  connection: PoolConnection,
  sql: string,
  control: StatementControl,
): Promise<QueryOutcome> {
  const query = connection.query(sql) as unknown as Promise<[unknown, unknown]>;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, control.deadline - Date.now()));
  });
  try {
    const settled = await Promise.race([query, timeout]);
    if (settled === 'timeout') {
      const threadId = connection.threadId;
      control.background(query.catch(() => undefined));
      if (!control.continueAfterTimeout) void ctx.database.kill(threadId, 'query').catch(() => undefined);
      throw new DataApiError('StatementTimeoutException', 'Request timed out', { extra: { dbConnectionId: threadId } });
    }
    return toOutcome(settled[0], settled[1]);
  } catch (error) {
    throw databaseError(error);
  } finally {
    clearTimeout(timer);
  }
}

function toOutcome(result: unknown, fields: unknown): QueryOutcome {
  // CALL answers with its result sets followed by an OK packet; the first result set counts.
  if (Array.isArray(fields) && Array.isArray(fields[0]) && Array.isArray(result)) {
    return Array.isArray(result[0])
      ? { kind: 'rows', rows: result[0] as unknown[][], fields: fields[0] as FieldPacket[] }
      : { kind: 'update', header: result.at(-1) as ResultSetHeader };
  }
  if (Array.isArray(result)) return { kind: 'rows', rows: result as unknown[][], fields: fields as FieldPacket[] };
  return { kind: 'update', header: result as ResultSetHeader };
}

function executeResponse(
  ctx: ExecutionContext,
  request: ExecuteStatementRequest,
  parsed: ParsedSql,
  outcome: QueryOutcome,
  switches: DataApiSwitches,
): string {
  if (outcome.kind === 'update') {
    return stringifyJson({
      numberOfRecordsUpdated: outcome.header.affectedRows,
      generatedFields: generatedFields(outcome.header, parsed, switches),
    });
  }
  const columns = outcome.fields.map(toColumnDefinition);
  const readers = columns.map((column) => fieldReader(column, request.resultSetOptions));
  const records = outcome.rows.map((row) => readers.map((read, index) => read(row[index])));
  if (request.formatRecordsAs === 'JSON') {
    const formattedRecords = formatRecords(columns, records);
    if (Buffer.byteLength(formattedRecords) > ctx.maxFormattedRecordsBytes) {
      throw new DataApiError('BadRequestException', 'The JSON-formatted result exceeds the 10 MB limit');
    }
    return stringifyJson({ numberOfRecordsUpdated: 0, formattedRecords });
  }
  const body = stringifyJson({
    columnMetadata: request.includeResultMetadata
      ? columns.map((column) => columnMetadata(column, ctx.database.info) as unknown as JsonValue)
      : undefined,
    numberOfRecordsUpdated: 0,
    records: records as JsonValue,
  });
  if (Buffer.byteLength(body) > ctx.maxResponseBytes) throw new DataApiError('BadRequestException', RESPONSE_TOO_LARGE);
  return body;
}

function formatRecords(columns: readonly ColumnDefinition[], records: readonly Field[][]): string {
  const labels = columns.map((column) => column.name);
  const duplicate = labels.find((label, index) => labels.indexOf(label) !== index);
  if (duplicate !== undefined) {
    throw new DataApiError(
      'UnsupportedResultException',
      `The result contains duplicate column names (${duplicate}); give each column a unique alias to format records as JSON.`,
    );
  }
  const objects = records.map((record) =>
    Object.fromEntries(record.map((field, index) => [labels[index] as string, formattedValue(field)])),
  );
  return stringifyJson(objects);
}

/** `generatedFields` for a statement that answered with an OK packet (see DataApiSwitches). */
function generatedFields(header: ResultSetHeader, parsed: ParsedSql, switches: DataApiSwitches): Field[] {
  const id = BigInt(String(header.insertId ?? 0));
  if (id <= 0n || header.affectedRows === 0) return [];
  const insert = parsed.keyword === 'INSERT' || parsed.keyword === 'REPLACE';
  if (switches.generatedFieldsOnUpdate === 'none' && !insert) return [];
  return [{ longValue: id }];
}

function toColumnDefinition(field: FieldPacket): ColumnDefinition {
  return {
    name: field.name,
    orgName: field.orgName,
    orgTable: field.orgTable,
    columnType: field.columnType ?? field.type ?? 0,
    columnLength: field.columnLength ?? field.length ?? 0,
    flags: typeof field.flags === 'number' ? field.flags : 0,
    decimals: field.decimals,
    characterSet: field.characterSet ?? field.charsetNr ?? 0,
    extendedFormat: field.extendedFormat,
  };
}
