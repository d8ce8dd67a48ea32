import type { ExecuteStatementCommandInput, RDSDataClient } from '@aws-sdk/client-rds-data';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LEASE_ENV } from '../../src/constants.js';
import { LeaseGuardConfigError, LeaseStoreError } from '../../src/errors.js';
import { migrate } from '../../src/lease/schema.js';
import { claimSql } from '../../src/lease/sql.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { classifyDataApiError } from '../../src/sql/classify-data-api.js';
import { createDataApiExecutor, type DataApiExecutorOptions } from '../../src/sql/data-api-executor.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { LOCAL_ARNS, type LocalDataApi, localClient, startLocalDataApi } from '../local/data-api-fixture.js';

/** Records what the executor asks the SDK for, so the request itself can be checked. */
function recordInputs(client: RDSDataClient): ExecuteStatementCommandInput[] {
  const inputs: ExecuteStatementCommandInput[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      inputs.push(args.input as ExecuteStatementCommandInput);
      return next(args);
    },
    { step: 'initialize', name: 'recordInputs' },
  );
  return inputs;
}

async function failure(promise: Promise<unknown>): Promise<LeaseStoreError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LeaseStoreError);
  return error as LeaseStoreError;
}

describe('createDataApiExecutor configuration', () => {
  afterEach(() => vi.unstubAllEnvs());

  it.each([
    [LEASE_ENV.RESOURCE_ARN, 'resourceArn'],
    [LEASE_ENV.SECRET_ARN, 'secretArn'],
    [LEASE_ENV.DATABASE, 'database'],
  ] as const)('names %s and the fix when it is missing', (variable, option) => {
    vi.stubEnv(LEASE_ENV.RESOURCE_ARN, LOCAL_ARNS.resourceArn);
    vi.stubEnv(LEASE_ENV.SECRET_ARN, LOCAL_ARNS.secretArn);
    vi.stubEnv(LEASE_ENV.DATABASE, 'leases');
    vi.stubEnv(variable, '');
    expect(() => createDataApiExecutor({ region: 'us-east-1' })).toThrow(LeaseGuardConfigError);
    expect(() => createDataApiExecutor({ region: 'us-east-1' })).toThrow(
      new RegExp(`set ${variable} or pass the ${option} option`),
    );
  });

  it('reads the three settings from the environment and sends them with every statement', async () => {
    const local = await startLocalDataApi('data_api_env');
    try {
      const inputs = recordInputs(local.client);
      vi.stubEnv(LEASE_ENV.RESOURCE_ARN, LOCAL_ARNS.resourceArn);
      vi.stubEnv(LEASE_ENV.SECRET_ARN, LOCAL_ARNS.secretArn);
      vi.stubEnv(LEASE_ENV.DATABASE, local.database);
      const executor = createDataApiExecutor({ client: local.client });
      expect((await executor.execute({ sql: 'SELECT DATABASE() AS db' })).rows).toEqual([{ db: local.database }]);
      expect(inputs).toEqual([expect.objectContaining({ ...LOCAL_ARNS, database: local.database })]);
      await executor.close();
    } finally {
      await local.close();
    }
  });

  it.each<[DataApiExecutorOptions, RegExp]>([
    [{ ...LOCAL_ARNS, resourceArn: 'my-cluster', database: 'd' }, /resourceArn option must be the Aurora cluster ARN/],
    [
      { ...LOCAL_ARNS, secretArn: 'my-secret', database: 'd' },
      /secretArn option must be the ARN of the Secrets Manager secret/,
    ],
    [{ ...LOCAL_ARNS, database: 'no spaces' }, /database option must be the name of the database/],
    [{ ...LOCAL_ARNS, database: 'd', timeoutMs: 0 }, /timeoutMs must be a positive number/],
  ])('refuses %o', (options, message) => {
    expect(() => createDataApiExecutor({ region: 'us-east-1', ...options })).toThrow(message);
  });
});

describe('the Data API executor against the local server', () => {
  let local: LocalDataApi;
  let executor: SqlExecutor;
  let inputs: ExecuteStatementCommandInput[];
  const make = (options: DataApiExecutorOptions = {}) =>
    createDataApiExecutor({ client: local.client, database: local.database, ...LOCAL_ARNS, ...options });

  beforeAll(async () => {
    local = await startLocalDataApi('data_api_executor');
    inputs = recordInputs(local.client);
    executor = make();
    await executor.execute({
      sql: 'CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, token BIGINT NOT NULL DEFAULT 0, data VARBINARY(8))',
    });
    await executor.execute({ sql: "INSERT INTO t (id, token, data) VALUES (1, 10, X'0102')" });
  });
  afterEach(() => {
    local.server.faults.clear();
    local.server.setSwitches({ rowsCount: 'matched', generatedFieldsOnUpdate: 'jdbc' });
  });
  afterAll(() => local?.close());

  it('binds nothing of its own, so a claim through it goes without the failover and affinity parts', async () => {
    expect(executor.binds).toEqual([]);
    await migrate(executor, 'leases_shape');
    const before = inputs.length;
    const store = createSqlLeaseStore({ executor, table: 'leases_shape' });
    expect((await store.claim({ job: 'shape', holder: 'h', leaseMs: 60_000 })).acquired).toBe(true);
    const claims = inputs.slice(before).filter((input) => input.sql?.startsWith('UPDATE'));
    // The first claim finds no row, creates it, and claims again: the same lean text both times.
    expect(claims.map((input) => input.sql)).toEqual(
      Array(2).fill(claimSql('leases_shape', { cluster: false, owner: false })),
    );
  });

  it('sends each value as its SqlParameter, only the names the SQL uses, and never a transactionId', async () => {
    inputs.length = 0;
    const result = await executor.execute({
      sql: "SELECT :s = 'x' AS s, :i + 1 AS i, :d * 2 AS d, :b AS b, :n IS NULL AS n",
      params: { s: 'x', i: 41, d: 0.25, b: true, n: null, unused: 'left out' },
    });
    expect(result).toEqual({
      affectedRows: 0,
      insertId: undefined,
      rows: [{ s: 1, i: 42, d: 0.5, b: 1, n: 1 }],
    });
    expect(inputs).toEqual([
      expect.objectContaining({
        ...LOCAL_ARNS,
        database: local.database,
        includeResultMetadata: true,
        parameters: [
          { name: 's', value: { stringValue: 'x' } },
          { name: 'i', value: { longValue: 41 } },
          { name: 'd', value: { doubleValue: 0.25 } },
          { name: 'b', value: { booleanValue: true } },
          { name: 'n', value: { isNull: true } },
        ],
      }),
    ]);
    expect(inputs[0]?.transactionId).toBeUndefined();
  });

  it('returns rows keyed by column label, with BLOBs as bytes', async () => {
    const { rows } = await executor.execute({ sql: 'SELECT id AS the_id, data FROM t WHERE id = 1' });
    expect(rows).toEqual([{ the_id: 1, data: new Uint8Array([1, 2]) }]);
  });

  it('reports LAST_INSERT_ID(expr) as insertId where the service returns it, and undefined for []', async () => {
    const bump = { sql: 'UPDATE t SET token = LAST_INSERT_ID(token + 1) WHERE id = :id', params: { id: 1 } };
    expect(await executor.execute(bump)).toEqual({ affectedRows: 1, insertId: 11, rows: [] });
    // No row matched: the service sends [] and the executor must not turn it into 0.
    expect(await executor.execute({ ...bump, params: { id: 99 } })).toEqual({
      affectedRows: 0,
      insertId: undefined,
      rows: [],
    });
    local.server.setSwitches({ generatedFieldsOnUpdate: 'none' });
    expect(await executor.execute(bump)).toEqual({ affectedRows: 1, insertId: undefined, rows: [] });
  });

  it('counts matched or changed rows as the service does', async () => {
    const same = { sql: 'UPDATE t SET token = token WHERE id = 1' };
    expect((await executor.execute(same)).affectedRows).toBe(1);
    local.server.setSwitches({ rowsCount: 'changed' });
    expect((await executor.execute(same)).affectedRows).toBe(0);
  });

  it.each([
    ['DatabaseResumingException', 'transient', false],
    ['DatabaseUnavailableException', 'transient', true],
    ['ServiceUnavailableError', 'transient', true],
    ['InternalServerErrorException', 'transient', true],
    ['StatementTimeoutException', 'transient', true],
    ['ThrottlingException', 'transient', false],
    ['AccessDeniedException', 'permanent', false],
    ['ForbiddenException', 'permanent', false],
    ['InvalidSecretException', 'permanent', false],
    ['SecretsErrorException', 'permanent', false],
    ['HttpEndpointNotEnabledException', 'permanent', false],
    ['DatabaseNotFoundException', 'permanent', false],
    ['NotFoundException', 'permanent', false],
    ['BadRequestException', 'permanent', false],
    ['DatabaseErrorException', 'permanent', false],
    ['ValidationException', 'permanent', false],
  ] as const)('classifies %s as %s (ambiguous: %s)', async (exception, kind, ambiguous) => {
    // One attempt, so that the classification of the exception itself is what is checked.
    const client = localClient(local.server, { maxAttempts: 1 });
    try {
      local.server.faults.inject({ exception, count: 1 });
      const error = await failure(make({ client }).execute({ sql: 'SELECT 1' }));
      expect({ kind: error.kind, ambiguous: error.ambiguous, code: error.code }).toEqual({
        kind,
        ambiguous,
        code: exception,
      });
      expect(error.cause).toBeInstanceOf(Error);
    } finally {
      client.destroy();
    }
  });

  it('treats MySQL deadlocks and lock wait timeouts as transient', async () => {
    for (const errno of [1213, 1205]) {
      local.server.faults.inject({
        exception: 'DatabaseErrorException',
        message: `Deadlock found when trying to get lock; Error code: ${errno}; SQLState: 40001`,
        count: 1,
      });
      const error = await failure(executor.execute({ sql: 'SELECT 1' }));
      expect(error).toMatchObject({ kind: 'transient', ambiguous: false, code: 'DatabaseErrorException' });
    }
    const sqlError = await failure(executor.execute({ sql: 'SELECT * FROM missing_table' }));
    expect(sqlError).toMatchObject({ kind: 'permanent', ambiguous: false });
    expect(sqlError.message).toMatch(/Error code: 1146/);
  });

  it('marks a 5xx the SDK retried to exhaustion as transient and ambiguous', async () => {
    local.server.faults.inject({ exception: 'DatabaseUnavailableException', count: 3 });
    const error = await failure(executor.execute({ sql: 'SELECT 1' }));
    expect(error).toMatchObject({ kind: 'transient', ambiguous: true });
  });

  it('marks a lost response after the commit as transient and ambiguous', async () => {
    const client = localClient(local.server, { maxAttempts: 1 });
    try {
      local.server.faults.inject({ dropResponseAfterCommit: true, count: 1 });
      const error = await failure(make({ client }).execute({ sql: 'UPDATE t SET token = token + 1 WHERE id = 1' }));
      expect(error).toMatchObject({ kind: 'transient', ambiguous: true, code: 'ECONNRESET' });
    } finally {
      client.destroy();
    }
  });

  it('abandons a call at its own deadline: transient, ambiguous', async () => {
    const hang = local.server.faults.inject({ hangUntilClientGivesUp: true, count: 1 });
    // Long enough for the request to reach the server on a loaded machine: the hang, not a
    // deadline that passed before sending, is what the call must be abandoned for.
    const error = await failure(make({ timeoutMs: 3_000 }).execute({ sql: 'SELECT 1' }));
    expect(error).toMatchObject({ kind: 'transient', ambiguous: true, code: 'Aborted' });
    expect(hang.hits).toBe(1);
  });

  it("abandons a call when the caller's signal aborts, and does not send one that is already aborted", async () => {
    const hang = local.server.faults.inject({ hangUntilClientGivesUp: true, count: 1 });
    const controller = new AbortController();
    const pending = failure(executor.execute({ sql: 'SELECT 1' }, { signal: controller.signal }));
    await hang.waitForHits(1);
    controller.abort(new Error('caller deadline'));
    expect(await pending).toMatchObject({ kind: 'transient', ambiguous: true, code: 'Aborted' });

    inputs.length = 0;
    const aborted = await failure(executor.execute({ sql: 'SELECT 1' }, { signal: AbortSignal.abort() }));
    expect(aborted.code).toBe('Aborted');
    expect(inputs).toEqual([]);
  });

  it('marks a refused connection as transient but not ambiguous (nothing was sent)', async () => {
    const { createServer } = await import('node:net');
    const closed = createServer();
    const port = await new Promise<number>((resolve) =>
      closed.listen(0, '127.0.0.1', () => resolve((closed.address() as { port: number }).port)),
    );
    await new Promise((resolve) => closed.close(resolve));
    const client = localClient(local.server, { endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
    try {
      const error = await failure(make({ client }).execute({ sql: 'SELECT 1' }));
      expect(error).toMatchObject({ kind: 'transient', ambiguous: false, code: 'ECONNREFUSED' });
    } finally {
      client.destroy();
    }
  });

  it('leaves an injected client open on close', async () => {
    await make().close();
    expect((await executor.execute({ sql: 'SELECT 1 AS one' })).rows).toEqual([{ one: 1 }]);
  });
});

describe('classifyDataApiError', () => {
  it.each([
    [{ name: 'TimeoutError', message: 'socket timed out' }, 'transient', true],
    [{ name: 'Error', code: 'EPIPE', message: 'broken pipe' }, 'transient', true],
    [{ name: 'Error', code: 'ENOTFOUND', message: 'no such host' }, 'transient', false],
    [{ name: 'SyntaxError', message: 'Unexpected token <', $metadata: { httpStatusCode: 502 } }, 'transient', true],
    [{ name: 'DatabaseResumingException', message: 'resuming', $metadata: { attempts: 2 } }, 'transient', true],
    [{ name: 'CredentialsProviderError', message: 'Could not load credentials' }, 'permanent', false],
    [{ name: 'Error', message: 'Region is missing' }, 'permanent', false],
  ])('classifies %o as %s (ambiguous: %s)', (raw, kind, ambiguous) => {
    const error = classifyDataApiError(Object.assign(new Error(raw.message), raw));
    expect({ kind: error.kind, ambiguous: error.ambiguous }).toEqual({ kind, ambiguous });
  });

  it('keeps an already classified error', () => {
    const original = new LeaseStoreError('x', { kind: 'permanent', code: 'X' });
    expect(classifyDataApiError(original)).toBe(original);
  });
});
