/**
 * Names and defaults shared by the library, the CLI and the CDK constructs. Keep this file free of
 * imports so `infra/` can read it without pulling in any runtime code.
 */

/** Environment variables a guarded function, the CLI and `lease-guard local` read. */
export const LEASE_ENV = {
  RESOURCE_ARN: 'LEASE_GUARD_RESOURCE_ARN',
  SECRET_ARN: 'LEASE_GUARD_SECRET_ARN',
  DATABASE: 'LEASE_GUARD_DATABASE',
  TABLE: 'LEASE_GUARD_TABLE',
  MYSQL_URL: 'LEASE_GUARD_MYSQL_URL',
  /** The region of the cluster's Data API, when a function runs in another region. */
  REGION: 'LEASE_GUARD_REGION',
} as const;

/**
 * CloudWatch metrics the middleware emits (embedded metric format), one dimension: the job.
 * The CDK constructs alarm on them, so both sides read the names from here.
 */
export const METRICS = {
  namespace: 'LeaseGuard',
  dimension: 'Job',
  /** The body ran and returned. */
  succeeded: 'RunSucceeded',
  /** The body ran and threw. */
  failed: 'RunFailed',
  /** The claim lost; the reason is in the log line. */
  skipped: 'Skipped',
  /** The lease's state could not be known; the body did not run (fail closed). */
  unavailable: 'LeaseUnavailable',
  /** Milliseconds the claim took, retries included. */
  claimLatency: 'ClaimLatency',
} as const;

export const DEFAULTS = {
  table: 'lease_guard',
  /** A tick older than this (database clock) is a stale retry or a replay and does not run. */
  maxTickAgeMs: 60 * 60 * 1000,
  /** A tick further ahead than this (database clock) is forged or badly skewed and does not run. */
  maxTickAheadMs: 5 * 60 * 1000,
  /** In affinity mode, a standby takes over after the owner has not claimed for this long. */
  failoverAfterMs: 10 * 60 * 1000,
} as const;

/** The longest lease the protocol accepts: a week, far beyond any Lambda (15 minutes). */
export const MAX_LEASE_MS = 7 * 24 * 60 * 60 * 1000;
