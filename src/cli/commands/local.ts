import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULTS, LEASE_ENV } from '../../constants.js';
import { DEFAULT_LOCAL_PORT, runLocal } from '../../local/local-command.js';
import { parseMysqlUrl } from '../connect.js';

interface LocalCommandOptions {
  readonly port: number;
  readonly mysqlUrl?: string;
  readonly table: string;
  readonly json?: boolean;
}

/** `lease-guard local`: a local database and Data API server for development and tests. */
export function registerLocalCommand(program: Command): void {
  program
    .command('local')
    .description(
      'start a throwaway MariaDB/MySQL and a local RDS Data API server, create the lease table, and print the environment that points the AWS SDK and lease-guard at them; runs until Ctrl-C',
    )
    .option('--port <port>', 'port of the Data API server (0 picks a free one)', parsePort, DEFAULT_LOCAL_PORT)
    .option(
      '--mysql-url <url>',
      `use this MySQL/MariaDB server instead of a throwaway one (same as ${LEASE_ENV.MYSQL_URL})`,
      parseMysqlUrl,
    )
    .option('--table <name>', 'lease table to create', DEFAULTS.table)
    .option('--json', 'print the environment as one JSON object instead of export lines')
    .action(async function localAction(options: LocalCommandOptions) {
      await runLocal({
        port: options.port,
        table: options.table,
        mysqlUrl: options.mysqlUrl,
        json: options.json === true,
      });
    });
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new InvalidArgumentError('expected an integer from 0 to 65535.');
  return port;
}
