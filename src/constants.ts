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
  /** The job name, when the handler gives no `job` (GuardedSchedule sets it). */
  JOB: 'LEASE_GUARD_JOB',
  /** `true`: events without a tick never claim (the `requireTick` option's default; GuardedSchedule sets it). */
  REQUIRE_TICK: 'LEASE_GUARD_REQUIRE_TICK',
  /** The clusters of a global database, JSON, the primary first; instead of RESOURCE_ARN and SECRET_ARN. */
  CLUSTERS: 'LEASE_GUARD_CLUSTERS',
  /**
   * Development only: a directory with the fleet worker prebuilt as `worker.mjs` and
   * `clock-skew.mjs`, run instead of the TypeScript sources under tsx (the test run builds it once).
   */
  FLEET_WORKER: 'LEASE_GUARD_FLEET_WORKER',
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
  /** Seconds since the job's last completed tick, from the lease table (the CDK watchdog). */
  completionLag: 'CompletionLag',
  /**
   * The body succeeded but its completion could not be recorded within the time left: the tick
   * stays open and the lease is kept to its end (never freed early). Alarm on it.
   */
  completionNotRecorded: 'CompletionNotRecorded',
  /**
   * Lambda Managed Instances: a body outlived its invocation's deadline and goes on running under
   * a renewed lease (the environment is never ended there). Its real outcome is counted when it settles.
   */
  abandoned: 'RunAbandoned',
  /**
   * A claim skipped behind this environment's own claim that failed closed (its answer never came)
   * and could not be withdrawn yet: nothing runs until that lease ends or is withdrawn.
   */
  skippedUnconfirmed: 'SkippedByUnconfirmedClaim',
} as const;

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** Every default of the library, in one place; the options schema, the stores and withLease read them here. */
export const DEFAULTS = {
  table: 'lease_guard',
  /** A tick older than this (database clock) is a stale retry or a replay and does not run. */
  maxTickAgeMs: 60 * MINUTE,
  /**
   * A tick further ahead than this (database clock) is forged or skewed and does not run. Real
   * ticks are never ahead but for clock error (Scheduler never fires early; a rule's time is
   * floored), and an accepted tick moves the completed mark up to it, so the window is kept short.
   */
  maxTickAheadMs: 30 * SECOND,
  /** In affinity mode, a standby takes over after the owner has not claimed for this long. */
  failoverAfterMs: 10 * MINUTE,
  /** How long the lease outlives the invocation's deadline (clock drift, the claim's own latency). */
  leaseMarginMs: 10 * SECOND,
  /** Cap of the default lease, and the lease without a Lambda context: 15 minutes plus the margin. */
  maxLeaseMs: 15 * MINUTE + 10 * SECOND,
  /** withLease's lease when `leaseMs` is not given. */
  withLeaseMs: 60 * SECOND,
  /** Deadline of one release attempt; the release is retried within the invocation's remaining time. */
  releaseTimeoutMs: 2 * SECOND,
  /** Kept free before the invocation's deadline after the release, for the answer and the log line. */
  answerReserveMs: 250,
  /** Retries of transient store failures (claim and release), within the invocation's remaining time. */
  retry: {
    budgetMs: 20 * SECOND,
    baseDelayMs: 100,
    maxDelayMs: 2 * SECOND,
    attemptTimeoutMs: 5 * SECOND,
    /** Time kept back before the invocation's deadline (to answer after the release). */
    reserveMs: SECOND,
  },
} as const;

/**
 * The shortest lease the guard accepts: a lease shorter than its body is renewed while the body
 * runs, and a renewal must be able to land well inside the lease (a quarter of it is the margin,
 * a third of the rest the renewal interval and each renewal's deadline).
 */
export const MIN_LEASE_MS = 1000;

/** The longest lease the protocol accepts: a week, far beyond any Lambda (15 minutes). */
export const MAX_LEASE_MS = 7 * 24 * 60 * 60 * 1000;
