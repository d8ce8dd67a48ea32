import { DEFAULTS, LEASE_ENV } from '../constants.js';
import { leaseEnv } from '../env.js';
import { LeaseGuardConfigError } from '../errors.js';
import type { LeaseStore } from '../lease/lease-store.js';
import { assertTableName } from '../lease/names.js';
import { createSqlLeaseStore } from '../lease/sql-lease-store.js';
import { createDataApiExecutor, dataApiSettings } from '../sql/data-api-executor.js';
import { defaultLogger } from './observe.js';
import type { ResolvedLeaseGuardOptions } from './options.js';

/**
 * The store the options ask for: an injected one, an injected executor, or the Data API. The
 * Data API client is made on first use, so a module that builds a guarded handler can be imported
 * (e.g. by a unit test that injects a store elsewhere) without the LEASE_GUARD_* variables. A
 * missing or malformed setting is reported at once, at cold start, in an ERROR log line; the
 * first invocation then fails with the same LeaseGuardConfigError.
 */
export function resolveStore(options: ResolvedLeaseGuardOptions): LeaseStore {
  if (options.store) return options.store;
  if (!options.executor) reportMissingSettings(options);
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

function reportMissingSettings(options: ResolvedLeaseGuardOptions): void {
  try {
    dataApiSettings(options);
  } catch (error) {
    if (!(error instanceof LeaseGuardConfigError)) throw error;
    if (options.logger === false) return;
    (options.logger ?? defaultLogger()).error(`lease-guard is not configured: ${error.message}`, {
      job: options.job,
    });
  }
}

function createStore(options: ResolvedLeaseGuardOptions): LeaseStore {
  const table = options.table ?? assertTableName(leaseEnv('TABLE') ?? DEFAULTS.table, LEASE_ENV.TABLE);
  const executor =
    options.executor ??
    createDataApiExecutor({
      client: options.client,
      resourceArn: options.resourceArn,
      secretArn: options.secretArn,
      database: options.database,
      region: options.region,
    });
  return createSqlLeaseStore({ executor, table });
}
