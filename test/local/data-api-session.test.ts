import { BatchExecuteStatementCommand, ExecuteStatementCommand } from '@aws-sdk/client-rds-data';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ARNS, type LocalDataApi, startLocalDataApi } from './data-api-fixture.js';

// Calls outside a transaction are independent: whatever one does to its session, the next call
// (on a pooled connection) must not inherit it.
describe('local Data API: calls leave no session state behind', () => {
  let local: LocalDataApi;
  const run = (sql: string) =>
    local.client.send(new ExecuteStatementCommand({ ...LOCAL_ARNS, database: local.database, sql }));

  beforeAll(async () => {
    local = await startLocalDataApi('data_api_session', { connectionLimit: 1 });
    await run('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
  });
  afterAll(() => local.close());

  it.each([
    ['SET autocommit = 0', 'SELECT @@autocommit AS v', 1],
    ['SET @leak = 42', 'SELECT (@leak IS NULL) + 0 AS v', 1],
    ["SET time_zone = '+05:00'", "SELECT @@time_zone = '+00:00' AS v", 1],
    ["/* hidden */ SET sql_mode = ''", "SELECT @@sql_mode LIKE '%STRICT_TRANS_TABLES%' AS v", 1],
    ['SELECT @leak := 7', 'SELECT (@leak IS NULL) + 0 AS v', 1],
  ])('does not carry %s into the next call', async (change, probe, expected) => {
    await run(change);
    const result = await run(probe);
    expect(Number(result.records?.[0]?.[0]?.longValue ?? result.records?.[0]?.[0]?.booleanValue)).toBe(expected);
  });

  it('does not keep table locks or an open transaction', async () => {
    await run('LOCK TABLES t WRITE');
    await run('START TRANSACTION');
    await run('INSERT INTO t VALUES (1, 1)');
    await run('INSERT INTO t VALUES (2, 2)');
    // Probed from another session: the server's only pooled session would see its own leaked
    // transaction's rows. A leaked table lock makes this probe time out; a leaked transaction
    // leaves the rows uncommitted, so it counts fewer.
    const probe = await mysql.createConnection({ uri: local.mysqlUrl });
    try {
      await probe.query('SET SESSION lock_wait_timeout = 5');
      const [rows] = (await probe.query('SELECT COUNT(*) AS n FROM t')) as unknown as [{ n: number }[]];
      expect(Number(rows[0]?.n)).toBe(2);
    } finally {
      await probe.end();
    }
  });
});

describe('local Data API: a batch leaves no session state behind either', () => {
  let local: LocalDataApi;
  beforeAll(async () => {
    local = await startLocalDataApi('data_api_batch_session', { connectionLimit: 1 });
  });
  afterAll(() => local.close());

  it('does not carry SET autocommit = 0 from a batch into the next call', async () => {
    await local.client.send(
      new BatchExecuteStatementCommand({
        ...LOCAL_ARNS,
        database: local.database,
        sql: 'SET autocommit = 0',
        parameterSets: [[]],
      }),
    );
    const result = await local.client.send(
      new ExecuteStatementCommand({ ...LOCAL_ARNS, database: local.database, sql: 'SELECT @@autocommit AS v' }),
    );
    expect(result.records?.[0]?.[0]?.longValue).toBe(1);
  });
});
