import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMissingColumnsSql, createTableSql, LEASE_COLUMNS, migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { freshDatabase } from '../support/database.js';

describe('lease table schema', () => {
  let executor: ReturnType<typeof createMysql2Executor>;
  const columnsOf = async (table: string) =>
    (
      await executor.execute({
        sql: 'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :table ORDER BY ORDINAL_POSITION',
        params: { table },
      })
    ).rows.map((row) => String(row.name));

  beforeAll(async () => {
    executor = createMysql2Executor({ url: await freshDatabase('schema') });
  });
  afterAll(() => executor.close());

  it('creates the table once and then reports it up to date', async () => {
    expect(await migrate(executor, 'fresh_table')).toEqual({ created: true, addedColumns: [] });
    expect(await migrate(executor, 'fresh_table')).toEqual({ created: false, addedColumns: [] });
    expect(await columnsOf('fresh_table')).toEqual(LEASE_COLUMNS.map(([name]) => name));
  });

  it('upgrades a table from an older version in place, keeping its rows', async () => {
    await executor.execute({
      sql: "CREATE TABLE old_table (job VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY, holder VARCHAR(255) NULL, fence BIGINT UNSIGNED NOT NULL DEFAULT 0, lease_until DATETIME(6) NOT NULL DEFAULT '1970-01-01 00:00:00')",
    });
    await executor.execute({ sql: "INSERT INTO old_table (job, fence) VALUES ('kept', 41)" });
    const result = await migrate(executor, 'old_table');
    expect(result.created).toBe(false);
    expect(result.addedColumns).toContain('quarantine_until');
    expect(await columnsOf('old_table')).toEqual(LEASE_COLUMNS.map(([name]) => name));
    const store = createSqlLeaseStore({ executor, table: 'old_table' });
    expect(await store.claim({ job: 'kept', holder: 'h', leaseMs: 60_000 })).toEqual({ acquired: true, fence: 42 });
  });

  it('survives concurrent migrations of the same table', async () => {
    const results = await Promise.all([1, 2, 3].map(() => migrate(executor, 'raced_table')));
    expect(results.filter((r) => r.created).length).toBeGreaterThanOrEqual(1);
    expect(await columnsOf('raced_table')).toEqual(LEASE_COLUMNS.map(([name]) => name));
  });

  it('quotes only validated identifiers in its DDL', () => {
    expect(() => createTableSql('lease`; DROP TABLE x; --')).toThrow(/SQL identifier/);
    expect(() => addMissingColumnsSql('bad name', new Set())).toThrow(/SQL identifier/);
    expect(createTableSql('lease_guard')).toMatch(/^CREATE TABLE IF NOT EXISTS `lease_guard`/);
  });
});
