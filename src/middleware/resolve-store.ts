import { DEFAULTS, LEASE_ENV } from '../constants.js';
import type { LeaseStore } from '../lease/lease-store.js';
import { assertTableName } from '../lease/names.js';
import { createSqlLeaseStore } from '../lease/sql-lease-store.js';
import { createDataApiExecutor } from '../sql/data-api-executor.js';
import type { ResolvedLeaseGuardOptions } from './options.js';

/** The store the options ask for: an injected one, an injected executor, or the Data API. */
export function resolveStore(options: ResolvedLeaseGuardOptions): LeaseStore {
  if (options.store) return options.store;
  const table = options.table ?? assertTableName(process.env[LEASE_ENV.TABLE] || DEFAULTS.table, LEASE_ENV.TABLE);
  const executor =
    options.executor ??
    createDataApiExecutor({
      client: options.client,
      resourceArn: options.resourceArn,
      secretArn: options.secretArn,
      database: options.database,
      region: options.region ?? (process.env[LEASE_ENV.REGION] || undefined),
    });
  return createSqlLeaseStore({ executor, table });
}
