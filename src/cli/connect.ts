import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULTS, LEASE_ENV } from '../constants.js';
import { LeaseGuardConfigError } from '../errors.js';
import { assertTableName } from '../lease/names.js';
import { type ClusterTarget, createClusterExecutor } from '../sql/cluster-executor.js';
import { parseClusters } from '../sql/cluster-settings.js';
import { createDataApiExecutor } from '../sql/data-api-executor.js';
import type { SqlExecutor } from '../sql/executor.js';
import { createMysql2Executor } from '../sql/mysql2-executor.js';

/** How the `status`, `release` and `migrate` commands reach the lease table. */
export interface ConnectionOptions {
  readonly mysqlUrl?: string;
  readonly resourceArn?: string;
  readonly secretArn?: string;
  readonly database?: string;
  readonly region?: string;
  /** A global database's clusters, the primary first (`--clusters` or LEASE_GUARD_CLUSTERS). */
  readonly clusters?: readonly ClusterTarget[];
  readonly table: string;
}

export function parseMysqlUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected a URL like mysql://user:password@host:3306/database.');
  }
  if (url.protocol !== 'mysql:') throw new InvalidArgumentError('expected a mysql:// URL.');
  return value;
}

function parseClustersArgument(value: string): ClusterTarget[] {
  try {
    return parseClusters(value, '--clusters');
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function parseTable(value: string): string {
  try {
    return assertTableName(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** Adds the connection flags: the Data API by default, or a direct MySQL URL. */
export function withConnectionOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--mysql-url <url>', 'connect directly to MySQL/MariaDB instead of the Data API').argParser(
        parseMysqlUrl,
      ),
    )
    .addOption(new Option('--resource-arn <arn>', 'Aurora cluster ARN').env(LEASE_ENV.RESOURCE_ARN))
    .addOption(new Option('--secret-arn <arn>', 'Secrets Manager ARN of the credentials').env(LEASE_ENV.SECRET_ARN))
    .addOption(new Option('--database <name>', 'database that holds the lease table').env(LEASE_ENV.DATABASE))
    .addOption(new Option('--region <region>', "the cluster's region (default: the AWS SDK's)").env(LEASE_ENV.REGION))
    .addOption(
      new Option(
        '--clusters <json>',
        'a global database\'s clusters, the primary first: [{"resourceArn","secretArn","region"}, …] (instead of --resource-arn and --secret-arn)',
      )
        .env(LEASE_ENV.CLUSTERS)
        .argParser(parseClustersArgument),
    )
    .addOption(
      new Option('--table <name>', 'lease table').env(LEASE_ENV.TABLE).default(DEFAULTS.table).argParser(parseTable),
    );
}

/** The executor the flags ask for; the caller closes it. */
export function connect(options: ConnectionOptions): SqlExecutor {
  if (options.mysqlUrl) return createMysql2Executor({ url: options.mysqlUrl, connectionLimit: 2 });
  if (options.clusters) {
    if (options.resourceArn) {
      throw new LeaseGuardConfigError(
        `Give --clusters (${LEASE_ENV.CLUSTERS}) or --resource-arn (${LEASE_ENV.RESOURCE_ARN}), not both.`,
      );
    }
    return createClusterExecutor({ clusters: options.clusters, database: options.database });
  }
  return createDataApiExecutor({
    resourceArn: options.resourceArn,
    secretArn: options.secretArn,
    database: options.database,
    region: options.region,
  });
}
