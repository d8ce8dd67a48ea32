import { DEFAULTS, LEASE_ENV } from '../constants.js';
import { leaseClustersEnv, leaseEnv } from '../env.js';
import { LeaseGuardConfigError } from '../errors.js';
import type { LeaseStore } from '../lease/lease-store.js';
import { assertTableName } from '../lease/names.js';
import { createSqlLeaseStore } from '../lease/sql-lease-store.js';
import { type ClusterTarget, createClusterExecutor } from '../sql/cluster-executor.js';
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
    withdraw: (request, execOptions) => get().withdraw(request, execOptions),
    inspect: (job, execOptions) => get().inspect(job, execOptions),
    list: (execOptions) => get().list(execOptions),
    forceRelease: (job, execOptions) => get().forceRelease(job, execOptions),
  };
}

function reportMissingSettings(options: ResolvedLeaseGuardOptions): void {
  try {
    const clusters = clustersOf(options);
    if (clusters) createClusterExecutor({ clusters, database: options.database }).close();
    else dataApiSettings(options);
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
  const clusters = options.executor ? undefined : clustersOf(options);
  const executor =
    options.executor ??
    (clusters && createClusterExecutor({ clusters, database: options.database, onSwitch: logSwitch(options) })) ??
    createDataApiExecutor({
      client: options.client,
      resourceArn: options.resourceArn,
      secretArn: options.secretArn,
      database: options.database,
      region: options.region,
    });
  return createSqlLeaseStore({ executor, table });
}

/**
 * The global database's clusters: the option, else LEASE_GUARD_CLUSTERS (which must then be the
 * only way the cluster is named: a LEASE_GUARD_RESOURCE_ARN beside it is refused, not guessed at).
 */
function clustersOf(options: ResolvedLeaseGuardOptions): readonly ClusterTarget[] | undefined {
  if (options.clusters) return options.clusters;
  const fromEnv = leaseClustersEnv();
  if (fromEnv && (options.resourceArn || leaseEnv('RESOURCE_ARN'))) {
    throw new LeaseGuardConfigError(
      `${LEASE_ENV.CLUSTERS} and a single cluster (${LEASE_ENV.RESOURCE_ARN} or the resourceArn option) are both set: keep one.`,
    );
  }
  return fromEnv;
}

/** One WARN line per change of cluster: a failover seen from this execution environment. */
function logSwitch(options: ResolvedLeaseGuardOptions) {
  return (from: ClusterTarget, to: ClusterTarget, error: Error): void => {
    if (options.logger === false) return;
    (options.logger ?? defaultLogger()).warn(
      `lease-guard: the cluster ${from.resourceArn} did not take the call (${error.message}); ${to.resourceArn} answered and gets the calls from now on.`,
      { job: options.job },
    );
  };
}
