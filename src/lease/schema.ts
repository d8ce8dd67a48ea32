import type { SqlExecutor } from '../sql/executor.js';
import { quoteTable } from './names.js';

/**
 * The lease table, defined once. `migrate` creates it or adds the columns an older version lacks;
 * the CLI and the CDK construct call the same function. Times are DATETIME(6) in UTC, written only
 * from the database clock.
 */
export const LEASE_COLUMNS = [
  ['job', 'VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL'],
  // Unique per invocation attempt: owner, function, request id and a nonce.
  ['holder', 'VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NULL'],
  ['fence', 'BIGINT UNSIGNED NOT NULL DEFAULT 0'],
  ['lease_until', "DATETIME(6) NOT NULL DEFAULT '1970-01-01 00:00:00'"],
  ['claimed_at', 'DATETIME(6) NULL'],
  // The tick the current holder runs, and the high-water mark of ticks completed.
  ['tick', 'DATETIME(6) NULL'],
  ['tick_done', 'DATETIME(6) NULL'],
  // Affinity mode: who keeps the job, and when it last claimed.
  ['owner', 'VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL'],
  ['owner_seen', 'DATETIME(6) NULL'],
  ['runs', 'BIGINT UNSIGNED NOT NULL DEFAULT 0'],
  ['failures', 'BIGINT UNSIGNED NOT NULL DEFAULT 0'],
  ['last_error', 'VARCHAR(1024) CHARACTER SET utf8mb4 NULL'],
  ['last_error_at', 'DATETIME(6) NULL'],
  ['released_at', 'DATETIME(6) NULL'],
  // Bumped by every write, so every matched row is also a changed row, whatever the driver counts.
  ['version', 'BIGINT UNSIGNED NOT NULL DEFAULT 0'],
  // Global database: the cluster (ARN) the last claim came through, and the end of a failover's quarantine.
  ['cluster', 'VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NULL'],
  ['quarantine_until', 'DATETIME(6) NULL'],
  ['created_at', "DATETIME(6) NOT NULL DEFAULT '1970-01-01 00:00:00'"],
] as const;

export type LeaseColumn = (typeof LEASE_COLUMNS)[number][0];

/** `CREATE TABLE IF NOT EXISTS` for the current schema. */
export function createTableSql(table: string): string {
  const columns = LEASE_COLUMNS.map(([name, type]) => `  \`${name}\` ${type}`).join(',\n');
  return `CREATE TABLE IF NOT EXISTS ${quoteTable(table)} (\n${columns},\n  PRIMARY KEY (\`job\`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
}

/** `ALTER TABLE … ADD COLUMN` for each column missing from an existing table, in schema order. */
export function addMissingColumnsSql(table: string, existing: ReadonlySet<string>): string[] {
  const statements: string[] = [];
  let previous: string | undefined;
  for (const [name, type] of LEASE_COLUMNS) {
    if (!existing.has(name)) {
      const position = previous ? `AFTER \`${previous}\`` : 'FIRST';
      statements.push(`ALTER TABLE ${quoteTable(table)} ADD COLUMN \`${name}\` ${type} ${position}`);
    }
    previous = name;
  }
  return statements;
}

export interface MigrateResult {
  readonly created: boolean;
  readonly addedColumns: readonly string[];
}

/** Creates the lease table or upgrades it in place. Safe to run any number of times, concurrently too. */
export async function migrate(executor: SqlExecutor, table: string): Promise<MigrateResult> {
  const existing = await existingColumns(executor, table);
  if (existing.size === 0) {
    await executor.execute({ sql: createTableSql(table) });
    return { created: true, addedColumns: [] };
  }
  const statements = addMissingColumnsSql(table, existing);
  const added: string[] = [];
  for (const sql of statements) {
    try {
      await executor.execute({ sql });
    } catch (error) {
      // A concurrent migration may have added it first (ER_DUP_FIELDNAME); anything else is real.
      if (!(await existingColumns(executor, table)).has(columnOf(sql))) throw error;
      continue;
    }
    added.push(columnOf(sql));
  }
  return { created: false, addedColumns: added };
}

async function existingColumns(executor: SqlExecutor, table: string): Promise<Set<string>> {
  const { rows } = await executor.execute({
    sql: 'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :table',
    params: { table },
  });
  return new Set(rows.map((row) => String(row.name).toLowerCase()));
}

function columnOf(alterSql: string): string {
  return /ADD COLUMN `([^`]+)`/.exec(alterSql)?.[1] ?? '';
}
