import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { freshDatabase } from '../support/database.js';
import { describeLeaseStoreContract } from './lease-store.contract.js';

// The same contract with mysql2 counting found rows (its default, as JDBC does), in UTC and in a far-off
// zone: the SQL uses only UTC_TIMESTAMP and DATETIME. Changed rows and MariaDB's SIMULTANEOUS_ASSIGNMENT
// are in mysql2-modes.test.ts (a file of its own runs in parallel).
for (const sessionTimeZone of ['+00:00', '+09:30']) {
  describeLeaseStoreContract(`mysql2 (foundRows true, time_zone ${sessionTimeZone})`, async () => {
    const url = await freshDatabase('contract_mysql2');
    const executor = createMysql2Executor({ url, foundRows: true, sessionTimeZone });
    const table = 'lease_guard';
    await migrate(executor, table);
    return { store: createSqlLeaseStore({ executor, table }), executor, table, close: () => executor.close() };
  });
}
