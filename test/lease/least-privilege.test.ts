/**
 * Least privilege, exercised: the table is migrated as an administrator, then every operation a
 * guarded function and the CLI's release perform runs as the restricted user of src/lease/grants.ts
 * (claim of a job never seen, which creates its row; renew; release; force release; inspect), over
 * mysql2 and over the Data API. Anything else that user tries is refused by the server.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseUserSql } from '../../src/lease/grants.js';
import type { LeaseStore } from '../../src/lease/lease-store.js';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { startDataApiServer } from '../../src/local/data-api/index.js';
import { createDataApiExecutor } from '../../src/sql/data-api-executor.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { LOCAL_ARNS, localClient } from '../local/data-api-fixture.js';
import { freshDatabase } from '../support/database.js';

const TABLE = 'lease_guard';
const MINUTE = 60_000;

describe('least privilege: the restricted user runs the whole lease life cycle, and nothing else', () => {
  const user = `lg_lp_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  let adminUrl: URL;
  let userUrl: string;
  let database: string;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    adminUrl = new URL(await freshDatabase('least_privilege'));
    database = adminUrl.pathname.slice(1);
    const admin = createMysql2Executor({ url: adminUrl.toString() });
    try {
      await migrate(admin, TABLE);
      await admin.execute({ sql: 'CREATE TABLE other (id INT PRIMARY KEY)' });
      for (const sql of leaseUserSql({ user, password, database, table: TABLE })) await admin.execute({ sql });
    } finally {
      await admin.close();
    }
    const url = new URL(adminUrl);
    url.username = user;
    url.password = password;
    userUrl = url.toString();
  });

  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    const admin = await mysql.createConnection({ uri: adminUrl.toString() });
    await admin.query(`DROP USER IF EXISTS '${user}'@'%'`);
    await admin.end();
  });

  async function executorFor(path: 'mysql2' | 'Data API'): Promise<SqlExecutor> {
    if (path === 'mysql2') {
      const executor = createMysql2Executor({ url: userUrl });
      closers.push(() => executor.close());
      return executor;
    }
    // The local Data API server logs in as the restricted user, as the real one uses the secret's.
    const server = await startDataApiServer({ mysqlUrl: userUrl });
    const client = localClient(server);
    closers.push(async () => {
      client.destroy();
      await server.close();
    });
    return createDataApiExecutor({ client, database, ...LOCAL_ARNS });
  }

  for (const path of ['mysql2', 'Data API'] as const) {
    describe(`over ${path}`, () => {
      let executor: SqlExecutor;
      let store: LeaseStore;
      beforeAll(async () => {
        executor = await executorFor(path);
        store = createSqlLeaseStore({ executor, table: TABLE });
      });

      it('claims a job never seen (creating its row), renews, releases, and force-releases', async () => {
        const job = `lp-${path === 'mysql2' ? 'm' : 'd'}-${randomBytes(3).toString('hex')}`;
        const first = await store.claim({ job, holder: 'h1', leaseMs: MINUTE });
        if (!first.acquired) throw new Error(`the first claim was refused: ${first.reason}`);
        expect(await store.renew({ job, holder: 'h1', fence: first.fence, leaseMs: 2 * MINUTE })).toBe(true);
        expect(await store.release({ job, holder: 'h1', fence: first.fence, outcome: 'success' })).toBe(true);
        const second = await store.claim({ job, holder: 'h2', leaseMs: MINUTE });
        if (!second.acquired) throw new Error(`the second claim was refused: ${second.reason}`);
        expect(second.fence).toBeGreaterThan(first.fence);
        expect(await store.forceRelease(job)).toBe(true);
        expect(await store.inspect(job)).toMatchObject({ held: false, runs: 2 });
        expect((await store.list()).map((state) => state.job)).toContain(job);
      });

      it.each([
        ['delete a row', `DELETE FROM ${TABLE}`],
        ['drop the table', `DROP TABLE ${TABLE}`],
        ['alter the table', `ALTER TABLE ${TABLE} ADD COLUMN x INT`],
        ['create a table', 'CREATE TABLE mine (id INT)'],
        ['read another table', 'SELECT * FROM other'],
        ['write another table', 'INSERT INTO other VALUES (1)'],
        ['grant itself more', `GRANT DELETE ON ${TABLE} TO CURRENT_USER()`],
        ['read the user table', 'SELECT * FROM mysql.user'],
      ])('is refused when it tries to %s', async (_, sql) => {
        await expect(executor.execute({ sql })).rejects.toThrow(/denied|command not permitted/i);
      });

      it('is refused a migration (DDL needs the administrator)', async () => {
        await expect(migrate(executor, 'lease_guard_new')).rejects.toThrow(/denied/i);
      });
    });
  }
});
