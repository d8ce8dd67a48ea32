import type { Command } from 'commander';
import { migrate } from '../../lease/schema.js';
import { type ConnectionOptions, connect, withConnectionOptions } from '../connect.js';

/** `lease-guard migrate`: create or upgrade the lease table (the same DDL the CDK construct runs). */
export function registerMigrateCommand(program: Command): void {
  withConnectionOptions(
    program.command('migrate').description('create the lease table, or add the columns a newer version needs'),
  ).action(async function migrateAction(options: ConnectionOptions) {
    const executor = connect(options);
    try {
      const result = await migrate(executor, options.table);
      const what = result.created
        ? 'created'
        : result.addedColumns.length > 0
          ? `upgraded (added ${result.addedColumns.join(', ')})`
          : 'already up to date';
      process.stdout.write(`Lease table ${options.table}: ${what}.\n`);
    } finally {
      await executor.close();
    }
  });
}
