/**
 * lease-guard: run a scheduled Lambda job once per tick and never twice at once.
 * This entry never loads mysql2; the mysql2 executor and the local tools have their own entries.
 */
export { DEFAULTS, LEASE_ENV, METRICS } from './constants.js';
export {
  LeaseBodyAbandonedError,
  LeaseGuardConfigError,
  LeaseGuardError,
  LeaseLostError,
  LeaseStoreError,
  LeaseUnavailableError,
  StoreErrorKind,
} from './errors.js';
export type { LeaseGuardLogger, LeaseGuardMetrics } from './guard/observe.js';
export {
  type LeaseGuardOptions,
  leaseGuardOptionsSchema,
  parseLeaseGuardOptions,
  type ResolvedLeaseGuardOptions,
  type TickFunction,
} from './guard/options.js';
export {
  GuardSkipReason,
  type Lease,
  type LeaseGuardContext,
  type LeaseSkipped,
  type LeaseSkipReason,
} from './guard/types.js';
export type { ClaimOutcome, RetryPolicy } from './lease/claim-with-retry.js';
export type {
  ClaimRequest,
  ClaimResult,
  LeaseState,
  LeaseStore,
  ReleaseRequest,
  RenewRequest,
} from './lease/lease-store.js';
export { SkipReason } from './lease/lease-store.js';
export { assertJobName, assertTableName } from './lease/names.js';
export { createTableSql, migrate } from './lease/schema.js';
export { createSqlLeaseStore, type SqlLeaseStoreOptions } from './lease/sql-lease-store.js';
export { leaseGuard } from './middleware/lease-guard.js';
export { type GuardedBody, type GuardedHandler, leaseGuarded } from './middleware/lease-guarded.js';
export { type RunningLease, type WithLeaseOptions, type WithLeaseResult, withLease } from './middleware/with-lease.js';
export { createDataApiExecutor, type DataApiExecutorOptions } from './sql/data-api-executor.js';
export type {
  Deadline,
  ExecuteOptions,
  SqlCell,
  SqlExecutor,
  SqlResult,
  SqlRow,
  SqlStatement,
  SqlValue,
} from './sql/executor.js';
