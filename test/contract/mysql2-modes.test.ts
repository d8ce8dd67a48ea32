import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { freshDatabase } from '../support/database.js';
import { describeLeaseStoreContract } from './lease-store.contract.js';

// The same contract with mysql2 counting changed rows (found rows: mysql2.test.ts), in UTC and in a
// far-off zone: the SQL uses only UTC_TIMESTAMP and DATETIME, and every match is also a change.
for (const sessionTimeZone of ['+00:00', '+09:30']) {
  describeLeaseStoreContract(`mysql2 (foundRows false, time_zone ${sessionTimeZone})`, async () => {
    const url = await freshDatabase('contract_mysql2');
    const executor = createMysql2Executor({ url, foundRows: false, sessionTimeZone });
    const table = 'lease_guard';
    await migrate(executor, table);
    return { store: createSqlLeaseStore({ executor, table }), executor, table, close: () => executor.close() };
  });
}

// MariaDB can evaluate an UPDATE's SET list all against the old row (SIMULTANEOUS_ASSIGNMENT), where
// MySQL goes left to right; the claim is written to give the same answers either way.
describeLeaseStoreContract('mysql2 (MariaDB SIMULTANEOUS_ASSIGNMENT)', async () => {
  const url = await freshDatabase('contract_simultaneous');
  const probe = createMysql2Executor({ url });
  const { rows } = await probe.execute({ sql: 'SELECT VERSION() AS version' });
  await probe.close();
  // MySQL has no such mode; there the left-to-right cases above are the whole story.
  const mariadb = /mariadb/i.test(String(rows[0]?.version));
  const executor = createMysql2Executor({
    url,
    sessionStatements: mariadb ? ["SET SESSION sql_mode = CONCAT(@@sql_mode, ',SIMULTANEOUS_ASSIGNMENT')"] : [],
  });
  await migrate(executor, 'lease_guard');
  return { store: createSqlLeaseStore({ executor }), executor, table: 'lease_guard', close: () => executor.close() };
});
