import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULTS, LEASE_ENV } from '../constants.js';
import { LeaseGuardConfigError, LeaseGuardError, LeaseStoreError } from '../errors.js';
import { assertTableName } from '../lease/names.js';
import { type ClusterTarget, createClusterExecutor } from '../sql/cluster-executor.js';
import { parseClusters } from '../sql/cluster-settings.js';
import { createDataApiExecutor } from '../sql/data-api-executor.js';
import type { SqlExecutor } from '../sql/executor.js';
import { createMysql2Executor } from '../sql/mysql2-executor.js';
import { duration, parseDuration } from './format.js';

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

const CLUSTER_ARN = /^arn:[^:]+:rds:([^:]*):\d*:cluster:./;
const SECRET_ARN = /^arn:[^:]+:secretsmanager:[^:]*:\d*:secret:./;

/**
 * Checks an ARN where the user typed it: Commander then names the flag, or the variable it came
 * from, in its message (`option '--resource-arn <arn>' argument … from env 'LEASE_GUARD_…'`).
 */
function arnParser(pattern: RegExp, what: string): (value: string) => string {
  return (value) => {
    if (!pattern.test(value)) throw new InvalidArgumentError(`expected ${what}.`);
    return value;
  };
}

/** The region a cluster ARN names (`arn:aws:rds:<region>:…`), if it names one. */
export function arnRegion(arn: string | undefined): string | undefined {
  return (arn && CLUSTER_ARN.exec(arn)?.[1]) || undefined;
}

/** Adds the connection flags: the Data API by default, or a direct MySQL URL. */
export function withConnectionOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--mysql-url <url>', 'connect directly to MySQL/MariaDB instead of the Data API').argParser(
        parseMysqlUrl,
      ),
    )
    .addOption(
      new Option('--resource-arn <arn>', 'Aurora cluster ARN')
        .env(LEASE_ENV.RESOURCE_ARN)
        .argParser(arnParser(CLUSTER_ARN, 'an Aurora cluster ARN (arn:aws:rds:<region>:<account>:cluster:<name>)')),
    )
    .addOption(
      new Option('--secret-arn <arn>', 'Secrets Manager ARN of the credentials')
        .env(LEASE_ENV.SECRET_ARN)
        .argParser(
          arnParser(
            SECRET_ARN,
            'a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)',
          ),
        ),
    )
    .addOption(new Option('--database <name>', 'database that holds the lease table').env(LEASE_ENV.DATABASE))
    .addOption(
      new Option(
        '--region <region>',
        "the cluster's region (default: the one in --resource-arn, else the AWS SDK's)",
      ).env(LEASE_ENV.REGION),
    )
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
  for (const [value, flag, variable, what] of [
    [options.resourceArn, '--resource-arn', LEASE_ENV.RESOURCE_ARN, 'the Aurora cluster ARN'],
    [options.secretArn, '--secret-arn', LEASE_ENV.SECRET_ARN, "the ARN of the cluster's Secrets Manager secret"],
    [options.database, '--database', LEASE_ENV.DATABASE, 'the database that holds the lease table'],
  ] as const) {
    if (!value) {
      throw new LeaseGuardConfigError(
        `The Data API needs ${what}: pass ${flag} or set ${variable} (or use --mysql-url). For a local server, run \`npx lease-guard local\` and use the environment it prints.`,
      );
    }
  }
  return createDataApiExecutor({
    resourceArn: options.resourceArn,
    secretArn: options.secretArn,
    database: options.database,
    // The Data API answers in the cluster's own region, which its ARN names.
    region: options.region || arnRegion(options.resourceArn),
  });
}

/** The default deadline of each statement a command sends; `--timeout` changes it. */
export const DEFAULT_CLI_TIMEOUT_MS = 5_000;

/** Adds `--timeout`: how long a command waits for each answer before it gives up. */
export function withTimeoutOption(command: Command): Command {
  return command.addOption(
    new Option('--timeout <duration>', 'how long to wait for each answer from the database (e.g. 30s)')
      .default(DEFAULT_CLI_TIMEOUT_MS, duration(DEFAULT_CLI_TIMEOUT_MS))
      .argParser(parseDuration),
  );
}

/**
 * A read that failed, as a command that only reads says it: nothing was changed. A database that
 * does not answer (paused, resuming, unreachable) is told apart from one that refused.
 */
export function readFailure(error: unknown, command: string, timeoutMs: number): unknown {
  if (!(error instanceof LeaseStoreError)) return error;
  const nothing = `${command} only reads: nothing was changed.`;
  if (error.code === 'Aborted' || error.code === 'ConnectTimeout') {
    return new LeaseGuardError(
      `the database did not answer within ${duration(timeoutMs)} (paused, resuming or unreachable). ${nothing} Try again, or wait longer with --timeout 30s.`,
      { cause: error },
    );
  }
  if (error.code === 'DatabaseResumingException') {
    return new LeaseGuardError(
      `the database is resuming after an automatic pause; try again in a few seconds. ${nothing}`,
      { cause: error },
    );
  }
  if (error.retryable) return new LeaseGuardError(`${error.message} ${nothing}`, { cause: error });
  return error;
}
