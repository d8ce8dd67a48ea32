/**
 * The LeaseTable custom resource's onEvent handler (CDK Provider framework). At deploy time, through
 * the Data API and as the cluster admin, it creates or upgrades the lease table with the library's
 * own `migrate` and, when asked, the database user guarded functions run as. Create and Update are
 * idempotent; Delete does nothing, so removing the stack never drops lease rows or a user in use.
 */
import { performance } from 'node:perf_hooks';
import type { CdkCustomResourceEvent, CdkCustomResourceResponse, Context } from 'aws-lambda';
import { LeaseStoreError } from '../../errors.js';
import { LEASE_USER_PRIVILEGES, leaseUserGrantSql, leaseUserSql } from '../../lease/grants.js';
import { assertTableName } from '../../lease/names.js';
import { migrate } from '../../lease/schema.js';
import { createDataApiExecutor } from '../../sql/data-api-executor.js';
import type { SqlExecutor } from '../../sql/executor.js';

/** The custom resource's properties, as `LeaseTable` sets them. */
interface LeaseTableProperties {
  readonly ResourceArn: string;
  readonly AdminSecretArn: string;
  readonly Database: string;
  readonly Table: string;
  /** Present when the construct creates the least-privilege user. */
  readonly UserSecretArn?: string;
}

/** DDL may wait on metadata locks; the Data API's own statement limit is 45 seconds. */
const STATEMENT_TIMEOUT_MS = 45_000;
/** Time kept back from the Lambda deadline to answer the framework. */
const ANSWER_RESERVE_MS = 5_000;

export async function handler(event: CdkCustomResourceEvent, context: Context): Promise<CdkCustomResourceResponse> {
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  const props = readProperties(event.ResourceProperties);
  const deadline = performance.now() + context.getRemainingTimeInMillis() - ANSWER_RESERVE_MS;
  const executor = createDataApiExecutor({
    resourceArn: props.ResourceArn,
    secretArn: props.AdminSecretArn,
    database: props.Database,
    timeoutMs: STATEMENT_TIMEOUT_MS,
  });
  try {
    const result = await retryTransient(() => migrate(executor, props.Table), deadline);
    if (props.UserSecretArn) await createLeaseUser(executor, props, props.UserSecretArn, deadline);
    return {
      PhysicalResourceId: `${props.Database}.${props.Table}`,
      Data: { Table: props.Table, Created: String(result.created), AddedColumns: result.addedColumns.join(',') },
    };
  } finally {
    await executor.close();
  }
}

function readProperties(raw: Record<string, unknown>): LeaseTableProperties {
  const text = (name: string): string => {
    const value = raw[name];
    if (typeof value !== 'string' || value === '') throw new Error(`The ${name} property must be a non-empty string.`);
    return value;
  };
  return {
    ResourceArn: text('ResourceArn'),
    AdminSecretArn: text('AdminSecretArn'),
    Database: assertTableName(text('Database'), 'Database'),
    Table: assertTableName(text('Table'), 'Table'),
    ...(raw.UserSecretArn === undefined ? {} : { UserSecretArn: text('UserSecretArn') }),
  };
}

async function createLeaseUser(
  executor: SqlExecutor,
  props: LeaseTableProperties,
  secretArn: string,
  deadline: number,
): Promise<void> {
  const { username, password } = await readCredentials(secretArn);
  const statements = leaseUserSql({ user: username, password, database: props.Database, table: props.Table });
  for (const [index, sql] of statements.entries()) {
    try {
      await retryTransient(() => executor.execute({ sql }), deadline);
    } catch (error) {
      // The statement text holds the password, and a database error may quote it back.
      const message = error instanceof Error ? error.message.replaceAll(password, '***') : 'unknown error';
      throw new Error(`Setting up the lease user failed at statement ${index + 1} of ${statements.length}: ${message}`);
    }
  }
  await revokeExcessGrants(executor, { user: username, database: props.Database, table: props.Table }, deadline);
}

/**
 * A user that already existed may hold more than the lease needs (granted by hand, or by an older
 * setup). GRANT only adds, so when SHOW GRANTS lists anything beyond USAGE and the lease table's
 * SELECT, INSERT, UPDATE, everything is revoked and the lease grant given again. Only then: the
 * revoke briefly leaves running functions without access, so it is not done on every deploy.
 */
async function revokeExcessGrants(
  executor: SqlExecutor,
  grant: { user: string; database: string; table: string },
  deadline: number,
): Promise<void> {
  const account = `'${grant.user}'@'%'`;
  const { rows } = await retryTransient(() => executor.execute({ sql: `SHOW GRANTS FOR ${account}` }), deadline);
  const lines = rows.flatMap((row) => Object.values(row).map(String));
  if (excessGrants(lines, grant).length === 0) return;
  await retryTransient(
    () => executor.execute({ sql: `REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${account}` }),
    deadline,
  );
  await retryTransient(() => executor.execute({ sql: leaseUserGrantSql(grant) }), deadline);
}

/**
 * The SHOW GRANTS lines (MySQL 8 and MariaDB forms) that give more than the lease needs: anything
 * but USAGE on *.* and exactly the lease privileges on the lease table; roles count as more.
 */
export function excessGrants(lines: readonly string[], grant: { database: string; table: string }): string[] {
  const leaseTable = `\`${grant.database}\`.\`${grant.table}\``;
  const wanted = [...LEASE_USER_PRIVILEGES].sort().join(',');
  return lines.filter((line) => {
    const match = /^GRANT (.+?) ON (\S+) TO /.exec(line);
    if (!match?.[1] || !match[2]) return true;
    const privileges = match[1].split(',').map((p) => p.trim().toUpperCase());
    if (match[2] === '*.*')
      return !(privileges.length === 1 && privileges[0] === 'USAGE') || / WITH GRANT OPTION/.test(line);
    return match[2] !== leaseTable || privileges.sort().join(',') !== wanted || / WITH GRANT OPTION/.test(line);
  });
}

/**
 * Reads the user's secret through the AWS Parameters and Secrets Lambda Extension (a layer the
 * construct adds), which answers on localhost with the function's own permissions: no Secrets
 * Manager client in the bundle.
 */
async function readCredentials(secretArn: string): Promise<{ username: string; password: string }> {
  const port = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT || '2773';
  const response = await fetch(
    `http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(secretArn)}`,
    {
      headers: { 'X-Aws-Parameters-Secrets-Token': process.env.AWS_SESSION_TOKEN ?? '' },
    },
  );
  if (!response.ok) {
    throw new Error(`Reading the lease user secret failed: HTTP ${response.status} from the secrets extension.`);
  }
  const { SecretString } = (await response.json()) as { SecretString?: unknown };
  const secret: unknown = typeof SecretString === 'string' ? JSON.parse(SecretString) : undefined;
  const { username, password } = (secret ?? {}) as { username?: unknown; password?: unknown };
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new Error('The lease user secret must be JSON with string "username" and "password" fields.');
  }
  return { username, password };
}

/**
 * Retries what may clear up by itself (a paused Serverless v2 cluster resuming, a failover) with
 * backoff until the deadline; everything else fails the deployment at once. Every statement here
 * is idempotent, so re-running one whose outcome was unknown is safe.
 */
async function retryTransient<T>(action: () => Promise<T>, deadline: number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      const wait = Math.min(1_000 * 2 ** attempt, 10_000);
      if (!(error instanceof LeaseStoreError && error.retryable) || performance.now() + wait > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
