import { DEFAULTS, LEASE_ENV } from '../constants.js';
import type { LeaseStore } from '../lease/lease-store.js';
import { assertTableName } from '../lease/names.js';
import { createSqlLeaseStore } from '../lease/sql-lease-store.js';
import { createDataApiExecutor } from '../sql/data-api-executor.js';
import type { ResolvedLeaseGuardOptions } from './options.js';

/**
 * The store the options ask for: an injected one, an injected executor, or the Data API. The
 * Data API client is made on first use, so a module that builds a guarded handler can be imported
 * (e.g. by a unit test that injects a store elsewhere) without the LEASE_GUARD_* variables; a
 * missing variable then fails the first invocation with a LeaseGuardConfigError.
 */
export function resolveStore(options: ResolvedLeaseGuardOptions): LeaseStore {
  if (options.store) return options.store;
  let store: LeaseStore | undefined;
  const get = (): LeaseStore => {
    store ??= createStore(options);
    return store;
  };
  return {
    claim: (request, execOptions) => get().claim(request, execOptions),
    release: (request, execOptions) => get().release(request, execOptions),
    renew: (request, execOptions) => get().renew(request, execOptions),
    inspect: (job, execOptions) => get().inspect(job, execOptions),
    list: (execOptions) => get().list(execOptions),
    forceRelease: (job, execOptions) => get().forceRelease(job, execOptions),
  };
}

function createStore(options: ResolvedLeaseGuardOptions): LeaseStore {
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
