/**
 * classifyMysqlError against failures mysql2 really raises, provoked on a real MariaDB: what the
 * guard retries (transient), what it settles before trusting (ambiguous: the statement may have
 * committed), and what fails closed at once (permanent). `lease-guard/mysql2` users' fail-closed
 * behaviour rests on these answers.
 */
import { createServer } from 'node:net';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreErrorKind } from '../../src/errors.js';
import { leaseUserSql } from '../../src/lease/grants.js';
import { migrate } from '../../src/lease/schema.js';
import { startThrowawayMysql, type ThrowawayMysql } from '../../src/local/throwaway-mysql.js';
import { classifyMysqlError } from '../../src/sql/classify.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { freshDatabase } from '../support/database.js';
import { until } from '../support/until.js';

/** The error a promise rejects with; fails the test if it resolves. */
async function failure(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  throw new Error('expected the statement to fail, but it succeeded');
}

function classified(error: unknown) {
  const { kind, code, ambiguous } = classifyMysqlError(error);
  return { kind, code, ambiguous };
}

describe('classifyMysqlError with real mysql2 failures', () => {
  let url: string;
  const connections: mysql.Connection[] = [];
  const connect = async () => {
    const connection = await mysql.createConnection({ uri: url });
    connections.push(connection);
    return connection;
  };

  beforeAll(async () => {
    url = await freshDatabase('classify');
    const admin = await connect();
    await admin.query('CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB');
    await admin.query('INSERT INTO t VALUES (1, 0), (2, 0)');
  });
  afterAll(async () => {
    await Promise.all(connections.map((connection) => connection.destroy()));
  });

  it('a connection killed from another session mid-statement: transient and ambiguous', async () => {
    const victim = await connect();
    const admin = await connect();
    const [[{ id }]] = (await victim.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
    const running = failure(victim.query('SELECT SLEEP(30)'));
    // Kill it once the server shows it running, so the kill lands mid-statement.
    await until(async () => {
      const [rows] = (await admin.query('SELECT COMMAND FROM information_schema.PROCESSLIST WHERE ID = ?', [
        id,
      ])) as unknown as [{ COMMAND: string }[]];
      return rows[0]?.COMMAND === 'Query';
    });
    await admin.query(`KILL CONNECTION ${Number(id)}`);
    expect(classified(await running)).toEqual({
      kind: StoreErrorKind.TRANSIENT,
      code: 'PROTOCOL_CONNECTION_LOST',
      ambiguous: true,
    });
  });

  it('a deadlock: transient, not ambiguous (the server rolled the victim back)', async () => {
    const a = await connect();
    const b = await connect();
    await a.query('START TRANSACTION');
    await b.query('START TRANSACTION');
    await a.query('UPDATE t SET v = v + 1 WHERE id = 1');
    await b.query('UPDATE t SET v = v + 1 WHERE id = 2');
    // Each waits for the row the other holds: InnoDB picks one to fail at once.
    const results = await Promise.allSettled([
      a.query('UPDATE t SET v = v + 1 WHERE id = 2'),
      b.query('UPDATE t SET v = v + 1 WHERE id = 1'),
    ]);
    await Promise.all([a.query('ROLLBACK'), b.query('ROLLBACK')]);
    const errors = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    expect(errors).toHaveLength(1);
    expect(classified(errors[0])).toEqual({
      kind: StoreErrorKind.TRANSIENT,
      code: 'ER_LOCK_DEADLOCK',
      ambiguous: false,
    });
  });

  it('a lock wait timeout: transient, not ambiguous (the statement was rolled back)', async () => {
    const holder = await connect();
    const waiter = await connect();
    await holder.query('START TRANSACTION');
    await holder.query('SELECT * FROM t WHERE id = 1 FOR UPDATE');
    await waiter.query('SET SESSION innodb_lock_wait_timeout = 1');
    const error = await failure(waiter.query('UPDATE t SET v = v + 1 WHERE id = 1'));
    await holder.query('ROLLBACK');
    expect(classified(error)).toEqual({
      kind: StoreErrorKind.TRANSIENT,
      code: 'ER_LOCK_WAIT_TIMEOUT',
      ambiguous: false,
    });
  });

  it('a closed port: transient, not ambiguous (nothing was sent)', async () => {
    // A port that was free a moment ago and is closed now.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await failure(mysql.createConnection({ host: '127.0.0.1', port, user: 'root' }));
    expect(classified(error)).toEqual({ kind: StoreErrorKind.TRANSIENT, code: 'ECONNREFUSED', ambiguous: false });
    // The same through the executor lease-guard/mysql2 users get.
    const executor = createMysql2Executor({ url: `mysql://root@127.0.0.1:${port}/x` });
    try {
      const thrown = await failure(executor.execute({ sql: 'SELECT 1' }));
      expect(classified(thrown)).toEqual({ kind: StoreErrorKind.TRANSIENT, code: 'ECONNREFUSED', ambiguous: false });
    } finally {
      await executor.close();
    }
  });

  it('a statement the server refuses for good (unknown column): permanent', async () => {
    const connection = await connect();
    const error = await failure(connection.query('UPDATE t SET nope = 1'));
    expect(classified(error)).toMatchObject({ kind: StoreErrorKind.PERMANENT, ambiguous: false });
  });
});

/**
 * A writer that became read-only (what a failover leaves behind the old endpoint) refuses the
 * lease user's writes. Its own server: read_only is global and would break every other test file.
 */
describe('classifyMysqlError with a read-only server', () => {
  let server: ThrowawayMysql;

  beforeAll(async () => {
    server = await startThrowawayMysql({ database: 'classify_ro' });
    const admin = createMysql2Executor({ url: server.url });
    try {
      await migrate(admin, 'lease_guard');
      for (const sql of leaseUserSql({
        user: 'lease_ro',
        password: 'pw-ro',
        database: 'classify_ro',
        table: 'lease_guard',
      }))
        await admin.execute({ sql });
      await admin.execute({ sql: 'SET GLOBAL read_only = 1' });
    } finally {
      await admin.close();
    }
  }, 120_000);
  afterAll(() => server?.stop());

  it("refuses the lease user's write: transient (retry on the new writer), not ambiguous", async () => {
    const asUser = new URL(server.url);
    asUser.username = 'lease_ro';
    asUser.password = 'pw-ro';
    const connection = await mysql.createConnection({ uri: asUser.toString() });
    try {
      const error = await failure(
        connection.query(
          "INSERT INTO lease_guard (job, fence, lease_until, claimed_at, created_at) VALUES ('ro', 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
        ),
      );
      expect((error as { code?: string }).code).toBe('ER_OPTION_PREVENTS_STATEMENT');
      expect(classified(error)).toEqual({
        kind: StoreErrorKind.TRANSIENT,
        code: 'ER_OPTION_PREVENTS_STATEMENT',
        ambiguous: false,
      });
    } finally {
      await connection.end();
    }
  });
});
