/**
 * What the supervisor and a worker process say to each other over the IPC channel, and the
 * configuration a worker starts with. Plain JSON: the channel uses JSON serialization.
 */
import type { RegisterVariant, RegisterWrite } from './history.js';
import type { StoreCallMessage, StoreReplyMessage } from './ipc-store.js';

/** One guarded function a worker hosts. */
export interface FleetJobConfig {
  readonly job: string;
  /** `affinity`: the worker's region is the owner; `per-tick`: no owner. @default 'per-tick' */
  readonly mode?: 'per-tick' | 'affinity';
  /** Affinity mode: a standby takes over after the owner has not claimed for this long. */
  readonly failoverAfterMs?: number;
  /** The body's read-modify-write on `fleet_register`, or none. @default null */
  readonly register?: RegisterVariant | null;
  /** Scheduled rules' `time` is floored to this. @default 60000 */
  readonly tickGranularityMs?: number;
  /** @default the guard's (1 h) */
  readonly maxTickAgeMs?: number;
  /** @default the guard's (10 s) */
  readonly leaseMarginMs?: number;
  /** A fixed lease instead of the remaining time plus the margin (e.g. to let a paused holder lose it). */
  readonly leaseMs?: number;
  /** @default the guard's */
  readonly retry?: {
    readonly budgetMs?: number;
    readonly baseDelayMs?: number;
    readonly maxDelayMs?: number;
    readonly attemptTimeoutMs?: number;
    readonly reserveMs?: number;
  };
  /** @default the guard's (5 s) */
  readonly releaseTimeoutMs?: number;
  /**
   * middy's `timeoutEarlyInMillis`. 0 leaves the deadline to the supervisor's SIGKILL, as Lambda's
   * hard timeout; above 0, middy aborts the handler first and the guard records the failure in
   * `onError`, keeps the lease to its end and ends the worker (the body may still run).
   * @default 0
   */
  readonly timeoutEarlyMs?: number;
}

/** A worker's configuration, passed in its environment (LEASE_GUARD_FLEET_WORKER). */
export interface WorkerConfig {
  readonly region: string;
  readonly jobs: readonly FleetJobConfig[];
  /** Where the guard's lease store is: the Data API (the default), or the supervisor's, over IPC. */
  readonly store?: 'data-api' | 'supervisor';
}

/** What the body does in one invocation. */
export interface BodyPlan {
  /** Total time the body takes. */
  readonly bodyMs: number;
  /** Delay between the register's read and write (the window a stale holder can slip into). */
  readonly registerDelayMs: number;
}

export interface InvokeMessage {
  readonly type: 'invoke';
  readonly invocationId: string;
  readonly job: string;
  readonly event: unknown;
  readonly requestId: string;
  readonly timeoutMs: number;
  readonly body: BodyPlan;
}

export type SupervisorMessage = InvokeMessage | StoreReplyMessage;

/** How the handler answered. */
export type HandlerAnswer =
  | { readonly kind: 'returned'; readonly skipped: false }
  | { readonly kind: 'returned'; readonly skipped: true; readonly reason: string }
  | { readonly kind: 'threw'; readonly name: string; readonly message: string };

export type WorkerMessage =
  /** Cold start done; `clockMs` is the worker's `Date.now()` so the supervisor can show its skew. */
  | { readonly type: 'ready'; readonly clockMs: number }
  | { readonly type: 'started'; readonly invocationId: string }
  | { readonly type: 'body-start'; readonly invocationId: string; readonly fence: number; readonly holder: string }
  | { readonly type: 'body-end'; readonly invocationId: string; readonly register: RegisterWrite | null }
  /** The guard's decision log line for the invocation (claim attempts, release problems). */
  | { readonly type: 'decision'; readonly invocationId: string; readonly attempts: number | null }
  | { readonly type: 'finished'; readonly invocationId: string; readonly answer: HandlerAnswer }
  | StoreCallMessage;

/** Environment variables the supervisor sets for a worker. */
/**
 * The line a worker writes to stderr as it exits because the guard ended its environment on
 * purpose (exit 1 after giving a body up mid-run, as in Lambda), so its exit is not told as a crash.
 */
export const GIVEN_UP_EXIT_LINE =
  'lease-guard fleet worker: the guard gave the body up mid-run and ended this environment';

export const WORKER_ENV = {
  CONFIG: 'LEASE_GUARD_FLEET_WORKER',
  /** Milliseconds the worker's wall clock is moved by (read by the clock-skew preload). */
  CLOCK_SKEW_MS: 'LEASE_GUARD_FLEET_CLOCK_SKEW_MS',
} as const;
