import {
  ExecuteStatementCommand,
  type ExecuteStatementCommandOutput,
  type Field,
  RDSDataClient,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import { LEASE_ENV } from '../constants.js';
import { leaseEnv } from '../env.js';
import { LeaseGuardConfigError, LeaseStoreError, StoreErrorKind } from '../errors.js';
import { abortedError } from './classify.js';
import { classifyDataApiError } from './classify-data-api.js';
import type { ExecuteOptions, SqlCell, SqlExecutor, SqlResult, SqlRow, SqlStatement, SqlValue } from './executor.js';

export interface DataApiExecutorOptions {
  /** The Aurora cluster's ARN. @default - the LEASE_GUARD_RESOURCE_ARN variable */
  readonly resourceArn?: string | undefined;
  /** The ARN of the Secrets Manager secret with the database credentials. @default - LEASE_GUARD_SECRET_ARN */
  readonly secretArn?: string | undefined;
  /** The database that holds the lease table. @default - LEASE_GUARD_DATABASE */
  readonly database?: string | undefined;
  /**
   * A client to use; the executor then leaves it open on `close()`.
   * @default - a new RDSDataClient: region, credentials and `AWS_ENDPOINT_URL_RDS_DATA` resolved the SDK's standard way
   */
  readonly client?: RDSDataClient | undefined;
  /** Region for the client the executor creates. @default - LEASE_GUARD_REGION, else the SDK's (AWS_REGION) */
  readonly region?: string | undefined;
  /** Endpoint for the client the executor creates (a local server). @default - the SDK's (AWS_ENDPOINT_URL_RDS_DATA, else the region's) */
  readonly endpoint?: string | undefined;
  /**
   * The deadline of each call, the SDK's own retries included. At the deadline the call is abandoned
   * and fails as transient and ambiguous (it may still commit on the server).
   * @default 10000
   */
  readonly timeoutMs?: number | undefined;
}

export const DEFAULT_DATA_API_TIMEOUT_MS = 10_000;

const PARAMETER_NAME = /:([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * The executor port over the RDS Data API: one ExecuteStatement per statement, autocommit, never
 * inside a caller's transaction (a lease statement must commit on its own).
 */
export function createDataApiExecutor(options: DataApiExecutorOptions = {}): SqlExecutor {
  const { resourceArn, secretArn, database } = dataApiSettings(options);
  const timeoutMs = options.timeoutMs ?? DEFAULT_DATA_API_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new LeaseGuardConfigError(`timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}.`);
  }
  const owned = options.client === undefined;
  const region = options.region || leaseEnv('REGION');
  const client =
    options.client ??
    new RDSDataClient({ ...(region ? { region } : {}), ...(options.endpoint ? { endpoint: options.endpoint } : {}) });

  async function execute(statement: SqlStatement, execOptions?: ExecuteOptions): Promise<SqlResult> {
    const callerSignal = execOptions?.signal;
    if (callerSignal?.aborted) throw abortedError(callerSignal.reason);
    const parameters = toParameters(statement);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
    let output: ExecuteStatementCommandOutput;
    try {
      output = await client.send(
        new ExecuteStatementCommand({
          resourceArn,
          secretArn,
          database,
          sql: statement.sql,
          parameters,
          // Column labels come from the metadata. Records (not formatRecordsAs JSON) keep BLOBs as
          // bytes and cost no second JSON parse; both lose BIGINT digits beyond 2^53 in the JS SDK.
          includeResultMetadata: true,
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      throw classifyDataApiError(error, signal);
    }
    return toResult(output);
  }

  return {
    execute,
    // One cluster: no parameter of its own. The cluster executor of a global database, which binds
    // `:cluster`, wraps executors like this one and does not declare this.
    binds: [],
    async close() {
      if (owned) client.destroy();
    },
  };
}

export interface DataApiSettings {
  readonly resourceArn: string;
  readonly secretArn: string;
  readonly database: string;
}

/**
 * Where the Data API calls go: the options, else the LEASE_GUARD_* variables. Throws a
 * LeaseGuardConfigError naming the variable, the option and the fix when one is missing or malformed.
 */
export function dataApiSettings(
  options: Pick<DataApiExecutorOptions, 'resourceArn' | 'secretArn' | 'database'>,
): DataApiSettings {
  return {
    resourceArn: setting(options.resourceArn, 'RESOURCE_ARN', 'resourceArn', {
      pattern: /^arn:[^:]+:rds:[^:]*:\d*:cluster:./,
      what: 'the Aurora cluster ARN (arn:aws:rds:<region>:<account>:cluster:<name>)',
    }),
    secretArn: setting(options.secretArn, 'SECRET_ARN', 'secretArn', {
      pattern: /^arn:[^:]+:secretsmanager:[^:]*:\d*:secret:./,
      what: 'the ARN of the Secrets Manager secret for the cluster (arn:aws:secretsmanager:<region>:<account>:secret:<name>)',
    }),
    database: setting(options.database, 'DATABASE', 'database', {
      pattern: /^[A-Za-z0-9_$]{1,64}$/,
      what: 'the name of the database that holds the lease table',
    }),
  };
}

function setting(
  value: string | undefined,
  name: 'RESOURCE_ARN' | 'SECRET_ARN' | 'DATABASE',
  option: string,
  rule: { readonly pattern: RegExp; readonly what: string },
): string {
  const variable = LEASE_ENV[name];
  const resolved = value || leaseEnv(name);
  if (resolved === undefined) {
    throw new LeaseGuardConfigError(
      `The Data API needs ${rule.what}: set ${variable} or pass the ${option} option. For a local server, run \`npx lease-guard local\` and use the environment it prints.`,
    );
  }
  if (!rule.pattern.test(resolved)) {
    const source = value ? `the ${option} option` : variable;
    throw new LeaseGuardConfigError(`${source} must be ${rule.what}, got ${JSON.stringify(resolved)}.`);
  }
  return resolved;
}

// The names each statement text uses, found once per text: the lease statements repeat every call.
const namesByText = new Map<string, readonly string[]>();
const MAX_CACHED_TEXTS = 256;

function parameterNames(sql: string): readonly string[] {
  let names = namesByText.get(sql);
  if (names === undefined) {
    names = [...new Set(Array.from(sql.matchAll(PARAMETER_NAME), (match) => match[1] as string))];
    if (namesByText.size >= MAX_CACHED_TEXTS) namesByText.clear(); // ad-hoc SQL must not grow it forever
    namesByText.set(sql, names);
  }
  return names;
}

/**
 * The statement's values as SqlParameters, only those its SQL names: the protocol shares one
 * parameter object between statements, and whether the service accepts unused names is unknown.
 */
function toParameters(statement: SqlStatement): SqlParameter[] {
  const params = statement.params ?? {};
  const parameters: SqlParameter[] = [];
  for (const name of parameterNames(statement.sql)) {
    if (Object.hasOwn(params, name)) parameters.push({ name, value: toField(name, params[name] as SqlValue) });
  }
  return parameters;
}

function toField(name: string, value: SqlValue): Field {
  if (value === null) return { isNull: true };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { booleanValue: value };
  if (Number.isSafeInteger(value)) return { longValue: value };
  if (Number.isFinite(value)) return { doubleValue: value };
  throw new LeaseStoreError(`The parameter ${name} is ${value}, which SQL cannot hold.`, {
    kind: StoreErrorKind.PERMANENT,
    code: 'InvalidParameter',
  });
}

function toResult(output: ExecuteStatementCommandOutput): SqlResult {
  const generated = output.generatedFields?.[0];
  const insertId = generated && 'longValue' in generated ? generated.longValue : undefined;
  const labels = (output.columnMetadata ?? []).map((column, index) => column.label ?? column.name ?? `${index}`);
  const rows = (output.records ?? []).map((record): SqlRow => {
    const row: Record<string, SqlCell> = {};
    record.forEach((field, index) => {
      row[labels[index] ?? `${index}`] = toCell(field);
    });
    return row;
  });
  return { affectedRows: output.numberOfRecordsUpdated ?? 0, insertId, rows };
}

function toCell(field: Field): SqlCell {
  if (field.isNull) return null;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.blobValue !== undefined) return field.blobValue;
  throw new LeaseStoreError(`The Data API returned a value the executor cannot represent: ${JSON.stringify(field)}.`, {
    kind: StoreErrorKind.PERMANENT,
    code: 'UnsupportedResult',
  });
}
