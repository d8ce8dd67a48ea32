import {
  BatchExecuteStatementCommand,
  BeginTransactionCommand,
  CommitTransactionCommand,
  DatabaseErrorException,
  ExecuteStatementCommand,
  type ExecuteStatementCommandInput,
  RollbackTransactionCommand,
  StatementTimeoutException,
  TransactionNotFoundException,
} from '@aws-sdk/client-rds-data';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDataApiServer } from '../../src/local/data-api/index.js';
import { until } from '../support/until.js';
import { LOCAL_ARNS, type LocalDataApi, localClient, startLocalDataApi } from './data-api-fixture.js';

describe('transactions, statement timeouts and batches', () => {
  let local: LocalDataApi;
  let direct: mysql.Connection;
  const send = (input: Omit<ExecuteStatementCommandInput, 'resourceArn' | 'secretArn'>) =>
    local.client.send(new ExecuteStatementCommand({ ...LOCAL_ARNS, ...input }));
  const begin = async () => (await local.client.send(new BeginTransactionCommand(LOCAL_ARNS))).transactionId as string;
  const commit = (transactionId: string) =>
    local.client.send(new CommitTransactionCommand({ ...LOCAL_ARNS, transactionId }));
  const rollback = (transactionId: string) =>
    local.client.send(new RollbackTransactionCommand({ ...LOCAL_ARNS, transactionId }));
  const names = async () =>
    (await direct.query<mysql.RowDataPacket[]>('SELECT name FROM items ORDER BY id'))[0].map((r) => r.name);
  /** The statement a MySQL thread is running, or undefined when it is idle or gone. */
  const running = async (threadId: number) =>
    (
      await direct.query<mysql.RowDataPacket[]>(
        "SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = ? AND COMMAND = 'Query'",
        [threadId],
      )
    )[0][0]?.INFO as string | undefined;

  beforeAll(async () => {
    local = await startLocalDataApi('data_api_tx', { statementTimeoutMs: 500, transactionIdleTimeoutMs: 1000 });
    direct = await mysql.createConnection({ uri: local.mysqlUrl });
    await direct.query(
      'CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) UNIQUE, n INT DEFAULT 0)',
    );
  });
  beforeEach(async () => {
    await direct.query('DELETE FROM items');
  });
  afterAll(async () => {
    await direct?.end();
    await local?.close();
  });

  it('commits: the rows appear, the id is gone afterwards', async () => {
    const transactionId = await begin();
    expect(transactionId).toMatch(/^[A-Za-z0-9+/=]{184}$/);
    await send({ sql: "INSERT INTO items (name) VALUES ('a')", transactionId });
    expect(await names()).toEqual([]);
    expect((await commit(transactionId)).transactionStatus).toBe('Transaction Committed');
    expect(await names()).toEqual(['a']);
    await expect(commit(transactionId)).rejects.toBeInstanceOf(TransactionNotFoundException);
  });

  it('rolls back', async () => {
    const transactionId = await begin();
    await send({ sql: "INSERT INTO items (name) VALUES ('b')", transactionId });
    expect((await rollback(transactionId)).transactionStatus).toBe('Rollback Complete');
    expect(await names()).toEqual([]);
    await expect(send({ sql: 'SELECT 1', transactionId })).rejects.toBeInstanceOf(TransactionNotFoundException);
  });

  it('aborts on an error: the work is rolled back and later calls find no transaction', async () => {
    const transactionId = await begin();
    await send({ sql: "INSERT INTO items (name) VALUES ('c')", transactionId });
    await expect(send({ sql: "INSERT INTO items (name) VALUES ('c')", transactionId })).rejects.toBeInstanceOf(
      DatabaseErrorException,
    );
    const error = await commit(transactionId).catch((e) => e);
    expect(error).toBeInstanceOf(TransactionNotFoundException);
    expect(error.message).toMatch(/aborted by an error in a previous call/);
    expect(await names()).toEqual([]);
  });

  it('expires an idle transaction and rolls it back', async () => {
    const transactionId = await begin();
    await send({ sql: "INSERT INTO items (name) VALUES ('d')", transactionId });
    const [thread] = (await send({ sql: 'SELECT CONNECTION_ID()', transactionId })).records ?? [];
    const threadId = Number(thread?.[0]?.longValue);
    // Watched from outside, since touching the transaction would keep it alive. InnoDB refreshes
    // INNODB_TRX only when nobody read it for 100 ms, hence the slower polling.
    await until(
      async () =>
        (
          await direct.query<mysql.RowDataPacket[]>(
            'SELECT 1 FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?',
            [threadId],
          )
        )[0].length === 0,
      { what: 'the idle transaction to be rolled back', intervalMs: 150 },
    );
    const error = await send({ sql: 'SELECT 1', transactionId }).catch((e) => e);
    expect(error).toBeInstanceOf(TransactionNotFoundException);
    expect(error.message).toMatch(/expired/);
    expect(await names()).toEqual([]);
  });

  it('fails a second call on a transaction that is still running a query', async () => {
    await direct.query("INSERT INTO items (name) VALUES ('locked')");
    // A row lock held from outside keeps the transaction's statement running for as long as we like.
    const holder = await mysql.createConnection({ uri: local.mysqlUrl });
    await holder.query('START TRANSACTION');
    await holder.query("SELECT * FROM items WHERE name = 'locked' FOR UPDATE");
    const patient = await startDataApiServer({ mysqlUrl: local.mysqlUrl });
    const client = localClient(patient);
    try {
      const { transactionId } = await client.send(new BeginTransactionCommand(LOCAL_ARNS));
      const call = (sql: string) => client.send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql, transactionId }));
      const [thread] = (await call('SELECT CONNECTION_ID()')).records ?? [];
      const threadId = Number(thread?.[0]?.longValue);
      const blocked = call("UPDATE items SET n = n + 1 WHERE name = 'locked'");
      await until(async () => (await running(threadId))?.startsWith('UPDATE') === true, { what: 'the blocked UPDATE' });
      const busy = await call('SELECT 1').catch((e) => e);
      expect(busy).toBeInstanceOf(DatabaseErrorException);
      expect(busy.message).toBe('Transaction is still running a query');
      await holder.query('COMMIT');
      expect((await blocked).numberOfRecordsUpdated).toBe(1);
      await client.send(new CommitTransactionCommand({ ...LOCAL_ARNS, transactionId: transactionId as string }));
    } finally {
      await holder.end();
      client.destroy();
      await patient.close();
    }
  });

  it('times out a statement: kills the query and names its connection', async () => {
    await direct.query("INSERT INTO items (name) VALUES ('e')");
    const error = await send({ sql: "UPDATE items SET n = n + 1 WHERE SLEEP(5) = 0 AND name = 'e'" }).catch((e) => e);
    expect(error).toBeInstanceOf(StatementTimeoutException);
    expect(error.$metadata.attempts).toBe(1);
    const threadId = error.dbConnectionId as number;
    expect(threadId).toBeGreaterThan(0);
    await until(async () => (await running(threadId)) === undefined, { what: 'KILL QUERY to stop the statement' });
    const [rows] = await direct.query<mysql.RowDataPacket[]>("SELECT n FROM items WHERE name = 'e'");
    expect(rows[0]?.n).toBe(0);
  });

  it('lets the statement finish after the timeout with continueAfterTimeout', async () => {
    await direct.query("INSERT INTO items (name) VALUES ('f')");
    const error = await send({
      sql: "UPDATE items SET n = n + 1 WHERE SLEEP(0.8) = 0 AND name = 'f'",
      continueAfterTimeout: true,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(StatementTimeoutException);
    await until(
      async () => (await direct.query<mysql.RowDataPacket[]>("SELECT n FROM items WHERE name = 'f'"))[0][0]?.n === 1,
      { what: 'the statement to finish and commit' },
    );
  });

  it('aborts a transaction whose statement timed out', async () => {
    const transactionId = await begin();
    await send({ sql: "INSERT INTO items (name) VALUES ('g')", transactionId });
    await expect(send({ sql: 'SELECT SLEEP(5)', transactionId })).rejects.toBeInstanceOf(StatementTimeoutException);
    await expect(commit(transactionId)).rejects.toBeInstanceOf(TransactionNotFoundException);
    expect(await names()).toEqual([]);
  });

  it('runs a batch once per parameter set, in one transaction, with one update result each', async () => {
    const batch = (parameterSets: { name: string }[][] | undefined, transactionId?: string) =>
      local.client.send(
        new BatchExecuteStatementCommand({
          ...LOCAL_ARNS,
          sql: 'INSERT INTO items (name) VALUES (:name)',
          transactionId,
          parameterSets: parameterSets?.map((set) =>
            set.map(({ name }) => ({ name: 'name', value: { stringValue: name } })),
          ),
        }),
      );
    const inserted = await batch([[{ name: 'h1' }], [{ name: 'h2' }]]);
    expect(inserted.updateResults).toHaveLength(2);
    const [first, second] = inserted.updateResults ?? [];
    expect(Number(second?.generatedFields?.[0]?.longValue)).toBe(Number(first?.generatedFields?.[0]?.longValue) + 1);
    expect(await names()).toEqual(['h1', 'h2']);

    // All or nothing: the duplicate in the second set undoes the first.
    await expect(batch([[{ name: 'h3' }], [{ name: 'h1' }]])).rejects.toBeInstanceOf(DatabaseErrorException);
    expect(await names()).toEqual(['h1', 'h2']);

    // No parameter sets: the statement runs zero times.
    expect((await batch([])).updateResults).toEqual([]);
    expect((await batch(undefined)).updateResults).toEqual([]);

    const transactionId = await begin();
    await batch([[{ name: 'h4' }]], transactionId);
    await rollback(transactionId);
    expect(await names()).toEqual(['h1', 'h2']);

    const updated = await local.client.send(
      new BatchExecuteStatementCommand({
        ...LOCAL_ARNS,
        sql: 'UPDATE items SET n = n + 1 WHERE name = :name',
        parameterSets: [
          [{ name: 'name', value: { stringValue: 'h1' } }],
          [{ name: 'name', value: { stringValue: 'nope' } }],
        ],
      }),
    );
    expect(updated.updateResults).toEqual([{ generatedFields: [] }, { generatedFields: [] }]);
  });

  it('rolls back open transactions when the server closes, even one whose call is still running a statement', async () => {
    const closing = await startDataApiServer({ mysqlUrl: local.mysqlUrl });
    let threadId = 0;
    const client = localClient(closing);
    let sleeping: Promise<unknown> = Promise.resolve();
    try {
      const { transactionId } = await client.send(new BeginTransactionCommand(LOCAL_ARNS));
      const call = (sql: string) => client.send(new ExecuteStatementCommand({ ...LOCAL_ARNS, sql, transactionId }));
      await call("INSERT INTO items (name) VALUES ('i')");
      const [thread] = (await call('SELECT CONNECTION_ID()')).records ?? [];
      threadId = Number(thread?.[0]?.longValue);
      sleeping = call('SELECT SLEEP(30)').catch((error: unknown) => error);
      await until(async () => (await running(threadId))?.includes('SLEEP') === true, { what: 'the sleep to start' });
    } finally {
      client.destroy();
      await closing.close();
    }
    expect(await sleeping).toBeInstanceOf(Error);
    await until(async () => (await running(threadId)) === undefined, { what: 'the connection to end' });
    // The unique name is free again: the insert was rolled back.
    await direct.query("INSERT INTO items (name) VALUES ('i')");
  });

  it('rolls back an open transaction whose statement outlived its call (continueAfterTimeout) when the server closes', async () => {
    // The only statement on this server is the one that must time out: a 30 s sleep against 100 ms.
    const closing = await startDataApiServer({ mysqlUrl: local.mysqlUrl, statementTimeoutMs: 100 });
    await direct.query("INSERT INTO items (name) VALUES ('locked')");
    let threadId = 0;
    const client = localClient(closing);
    try {
      const { transactionId } = await client.send(new BeginTransactionCommand(LOCAL_ARNS));
      // Locks the row, then sleeps while holding it.
      const timedOut = await client
        .send(
          new ExecuteStatementCommand({
            ...LOCAL_ARNS,
            sql: "SELECT SLEEP(30) FROM items WHERE name = 'locked' FOR UPDATE",
            transactionId,
            continueAfterTimeout: true,
          }),
        )
        .catch((error: unknown) => error);
      expect(timedOut).toBeInstanceOf(StatementTimeoutException);
      threadId = (timedOut as StatementTimeoutException).dbConnectionId ?? 0;
      expect(await running(threadId)).toMatch(/SLEEP/);
    } finally {
      client.destroy();
      await closing.close();
    }
    await until(async () => (await running(threadId)) === undefined, { what: 'the connection to end' });
    // The row lock is gone with the transaction: taking it does not wait.
    await direct.query("SELECT name FROM items WHERE name = 'locked' FOR UPDATE NOWAIT");
  });

  it('uses the database named in the request, else the one in the URL', async () => {
    const out = await send({ sql: 'SELECT DATABASE()' });
    expect(out.records).toEqual([[{ stringValue: local.database }]]);
    const other = await send({ sql: 'SELECT DATABASE()', database: 'information_schema' });
    expect(other.records).toEqual([[{ stringValue: 'information_schema' }]]);
    const missing = await send({ sql: 'SELECT 1', database: 'no_such_database' }).catch((e) => e);
    expect(missing).toBeInstanceOf(DatabaseErrorException);
    expect(missing.message).toMatch(/Error code: 1049/);
  });
});
