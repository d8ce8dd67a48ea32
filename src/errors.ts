/**
 * The error tree of lease-guard. Every error carries a `cause` when it wraps another one, and a
 * message that says what went wrong, the value received and how to fix it.
 */
export class LeaseGuardError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LeaseGuardError';
  }
}

/** Invalid options, environment or names. Thrown once, at cold start, never per invocation. */
export class LeaseGuardConfigError extends LeaseGuardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LeaseGuardConfigError';
  }
}

/** How a store failure should be treated by the retry policy. */
export const StoreErrorKind = {
  /** Worth retrying: the database is resuming, unavailable, throttled, unreachable or slow. */
  TRANSIENT: 'transient',
  /** Retrying will not help: access, secrets, endpoint, SQL errors, a missing table. */
  PERMANENT: 'permanent',
} as const;
export type StoreErrorKind = (typeof StoreErrorKind)[keyof typeof StoreErrorKind];

/**
 * A statement failed. `ambiguous` is true when the statement may have committed even though no
 * answer came back (a timeout, an abort, a dropped connection): the caller must settle it, never guess.
 */
export class LeaseStoreError extends LeaseGuardError {
  readonly kind: StoreErrorKind;
  readonly ambiguous: boolean;
  /** A short name for the underlying failure, e.g. `DatabaseResumingException` or `ECONNREFUSED`. */
  readonly code: string;

  constructor(
    message: string,
    details: { kind: StoreErrorKind; code: string; ambiguous?: boolean },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'LeaseStoreError';
    this.kind = details.kind;
    this.code = details.code;
    this.ambiguous = details.ambiguous ?? false;
  }

  get retryable(): boolean {
    return this.kind === StoreErrorKind.TRANSIENT;
  }
}

/**
 * The lease's state could not be known (the store failed past the retry budget, or permanently),
 * so the body did not run. Thrown by default so the platform retries later; `cause` is the store error.
 */
export class LeaseUnavailableError extends LeaseGuardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LeaseUnavailableError';
  }
}

/**
 * The lease could not be renewed in time, or another holder took it (a force-release): the body's
 * signal aborts with it. Fence every write the body makes, so a stale holder's writes are refused.
 */
export class LeaseLostError extends LeaseGuardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LeaseLostError';
  }
}

/**
 * The body did not settle by the guard's deadline (its invocation's deadline less the release
 * reserve), or middy's early timeout answered first, or its lease was lost. JavaScript cannot stop
 * it: on standard Lambda its execution environment is ended once nothing else is in flight in it;
 * on Lambda Managed Instances its lease is renewed until it settles, and its real outcome recorded.
 */
export class LeaseBodyAbandonedError extends LeaseGuardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LeaseBodyAbandonedError';
  }
}
