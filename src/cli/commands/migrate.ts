import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import type { Command } from 'commander';
import { LeaseGuardError, LeaseStoreError } from '../../errors.js';
import { assertTableName } from '../../lease/names.js';
import { type MigrateResult, migrate } from '../../lease/schema.js';
import { createMysql2Executor } from '../../sql/mysql2-executor.js';
import { arnRegion, type ConnectionOptions, connect, withConnectionOptions } from '../connect.js';

/** `lease-guard migrate`: create or upgrade the lease table (the same DDL the CDK construct runs). */
export function registerMigrateCommand(program: Command): void {
  withConnectionOptions(
    program
      .command('migrate')
      .description(
        'create the lease table, or add the columns a newer version needs; creates the database first when it does not exist',
      ),
  ).action(async function migrateAction(options: ConnectionOptions) {
    let result: MigrateResult;
    try {
      result = await migrateOnce(options);
    } catch (error) {
      if (!missingDatabase(error)) throw error;
      const name = await createDatabase(options, error);
      process.stdout.write(`Database ${name}: created.\n`);
      result = await migrateOnce(options);
    }
    const what = result.created
      ? 'created'
      : result.addedColumns.length > 0
        ? `upgraded (added ${result.addedColumns.join(', ')})`
        : 'already up to date';
    process.stdout.write(`Lease table ${options.table}: ${what}.\n`);
  });
}

async function migrateOnce(options: ConnectionOptions): Promise<MigrateResult> {
  const executor = connect(options);
  try {
    return await migrate(executor, options.table);
  } finally {
    await executor.close();
  }
}

/** MySQL's "Unknown database" (1049), as mysql2 and the Data API report it. */
function missingDatabase(error: unknown): boolean {
  return (
    error instanceof LeaseStoreError &&
    (error.code === 'ER_BAD_DB_ERROR' || /Unknown database|Error code: 1049\b/i.test(error.message))
  );
}

/**
 * Creates the database the options name, through the same connection without a database; says
 * exactly what to run where it cannot (no rights, or a global database's clusters).
 */
async function createDatabase(options: ConnectionOptions, missing: unknown): Promise<string> {
  const name = options.mysqlUrl
    ? decodeURIComponent(new URL(options.mysqlUrl).pathname.slice(1))
    : (options.database ?? '');
  assertTableName(name, options.mysqlUrl ? 'the database in --mysql-url' : '--database');
  const sql = `CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4`;
  const cannot = (reason: string, cause: unknown): LeaseGuardError =>
    new LeaseGuardError(
      `The database ${name} does not exist and ${reason}. Create it as a user allowed to (${sql}), or point ${options.mysqlUrl ? '--mysql-url' : '--database'} at the database that should hold the lease table; then run this again.`,
      { cause },
    );
  if (options.clusters) throw cannot('is not created through --clusters', missing);
  try {
    if (options.mysqlUrl) {
      const server = new URL(options.mysqlUrl);
      server.pathname = '/';
      const executor = createMysql2Executor({ url: server.toString(), connectionLimit: 1 });
      try {
        await executor.execute({ sql });
      } finally {
        await executor.close();
      }
    } else {
      // No database in the call: the Data API runs it without one (connect() checked the ARNs).
      const region = options.region || arnRegion(options.resourceArn);
      const client = new RDSDataClient(region ? { region } : {});
      try {
        await client.send(
          new ExecuteStatementCommand({ resourceArn: options.resourceArn, secretArn: options.secretArn, sql }),
        );
      } finally {
        client.destroy();
      }
    }
  } catch (error) {
    throw cannot(`could not be created (${(error as Error).message})`, error);
  }
  return name;
}
