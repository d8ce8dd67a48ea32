/**
 * The LeaseTable custom resource's onEvent handler (CDK Provider framework). At deploy time, through
 * the Data API and as the cluster admin, it creates or upgrades the lease table with the library's
 * own `migrate` and, when asked, the database user guarded functions run as. Create and Update are
 * idempotent; Delete does nothing, so removing the stack never drops lease rows or a user in use.
 */
import { performance } from 'node:perf_hooks';
import type { CdkCustomResourceEvent, CdkCustomResourceResponse, Context } from 'aws-lambda';
import { LeaseStoreError } from '../src/errors.js';
import { leaseUserSql } from '../src/lease/grants.js';
import { assertTableName } from '../src/lease/names.js';
import { migrate } from '../src/lease/schema.js';
import { createDataApiExecutor } from '../src/sql/data-api-executor.js';
import type { SqlExecutor } from '../src/sql/executor.js';

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
