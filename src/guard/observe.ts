import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from '../constants.js';

/** What lease-guard needs of a logger. Powertools `Logger` fits; so does a small adapter over any other. */
export interface LeaseGuardLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

type MetricUnitName = 'Count' | 'Milliseconds';

/** What lease-guard needs of a metrics sink. Powertools `Metrics` fits. */
export interface LeaseGuardMetrics {
  singleMetric(): {
    addDimension(name: string, value: string): unknown;
    addMetric(name: string, unit: MetricUnitName, value: number): unknown;
  };
}

/** The outcome of one decision, as logged and counted. */
export const Outcome = {
  WON: 'won',
  SKIPPED: 'skipped',
  UNAVAILABLE: 'unavailable',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  /**
   * Lambda Managed Instances: the body outlived its invocation's deadline and goes on running (it
   * cannot be stopped, and the environment is never ended); its lease is renewed until it settles,
   * and its real outcome is logged then.
   */
  ABANDONED: 'abandoned',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

export interface Decision {
  readonly job: string;
  readonly outcome: Outcome;
  readonly reason?: string | undefined;
  readonly fence?: number | undefined;
  readonly tick?: string | null | undefined;
  readonly holder: string;
  readonly claimLatencyMs?: number | undefined;
  readonly attempts?: number | undefined;
  readonly runMs?: number | undefined;
  readonly error?: string | undefined;
  readonly releaseError?: string | undefined;
  readonly releaseAttempts?: number | undefined;
  /** The run succeeded but its completion could not be recorded: counted as METRICS.completionNotRecorded. */
  readonly completionNotRecorded?: boolean | undefined;
  /**
   * A skip behind a lease held by this environment's own claim that failed closed (its answer never
   * came, its body never ran) and could not be withdrawn yet: WARN, counted as METRICS.skippedUnconfirmed.
   */
  readonly heldByUnconfirmedClaim?: boolean | undefined;
  /** A body that settled after it was abandoned (Lambda Managed Instances): how its run really ended. */
  readonly afterAbandonment?: boolean | undefined;
}

const OUTCOME_METRIC: Partial<Record<Outcome, string>> = {
  [Outcome.SKIPPED]: METRICS.skipped,
  [Outcome.UNAVAILABLE]: METRICS.unavailable,
  [Outcome.SUCCEEDED]: METRICS.succeeded,
  [Outcome.FAILED]: METRICS.failed,
  [Outcome.ABANDONED]: METRICS.abandoned,
};

export interface Observer {
  decision(decision: Decision): void;
  /**
   * Gives the logger this invocation's Lambda context (Powertools `addContext`), so lease-guard's
   * lines carry this request id even when `injectLambdaContext` runs after it, or not at all.
   */
  startInvocation(context: unknown): void;
  /** A configuration that cannot keep a promise (e.g. no time for the release before the deadline): ERROR. */
  problem(job: string, message: string): void;
}

/** Levels of interfaces §4: failures and unknowns ERROR, suspicious input WARN, the rest INFO. */
// A failover's quarantine too: the job is held off for up to the longest lease, worth a look.
const WARN_REASONS: ReadonlySet<string> = new Set(['invalid-event', 'no-tick', 'failover-quarantine']);

function levelOf(decision: Decision): 'info' | 'warn' | 'error' {
  // A failed run, an unknown lease state, or a run whose end could not be recorded.
  if (
    decision.outcome === Outcome.FAILED ||
    decision.outcome === Outcome.UNAVAILABLE ||
    decision.outcome === Outcome.ABANDONED
  ) {
    return 'error';
  }
  if (decision.heldByUnconfirmedClaim) return 'warn';
  if (decision.releaseError !== undefined || decision.completionNotRecorded) return 'error';
  if (decision.outcome === Outcome.SKIPPED && decision.reason !== undefined && WARN_REASONS.has(decision.reason)) {
    return 'warn';
  }
  return 'info';
}

/** The decision's fields that are set, in their order: a log line leaves the rest out. */
function definedFields(decision: Decision): Record<string, unknown> {
  const line: Record<string, unknown> = {};
  for (const key of Object.keys(decision)) {
    const value = decision[key as keyof Decision];
    if (value !== undefined) line[key] = value;
  }
  return line;
}

/**
 * A Powertools `Metrics` the user passes would put lease-guard's points in the user's namespace
 * with the user's default dimensions, where the CDK alarms never look. Its points go through
 * lease-guard's own instance instead, so the contract (METRICS.namespace, [METRICS.dimension]) holds.
 */
function isPowertoolsMetrics(metrics: LeaseGuardMetrics): boolean {
  const m = metrics as unknown as Record<string, unknown>;
  return typeof m.publishStoredMetrics === 'function' && typeof m.addMetric === 'function';
}

/**
 * Powertools Metrics in the `LeaseGuard` namespace with the job as the only dimension, so the CDK
 * alarms match it. (Powertools' own `singleMetric()` adds a `service` dimension back; publishing
 * each point from one instance with its default dimensions cleared does not.)
 */
export function defaultMetrics(): LeaseGuardMetrics {
  const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: 'lease-guard' });
  metrics.clearDefaultDimensions();
  return {
    singleMetric: () => ({
      addDimension: (name, value) => metrics.addDimension(name, value),
      addMetric: (name, unit, value) => {
        metrics.addMetric(name, MetricUnit[unit], value);
        metrics.publishStoredMetrics();
      },
    }),
  };
}

export function defaultLogger(): LeaseGuardLogger {
  return new Logger({ serviceName: 'lease-guard' });
}

/**
 * One structured log line per decision, and a CloudWatch metric per outcome through the metrics
 * sink (embedded metric format with Powertools). Observability never breaks a run: a throwing
 * logger or sink is ignored.
 */
export function createObserver(logger: LeaseGuardLogger | false, given: LeaseGuardMetrics | false): Observer {
  const metrics = given && isPowertoolsMetrics(given) ? defaultMetrics() : given;
  function count(job: string, name: string, unit: MetricUnitName, value: number): void {
    if (!metrics) return;
    const single = metrics.singleMetric();
    single.addDimension(METRICS.dimension, job);
    single.addMetric(name, unit, value);
  }
  return {
    startInvocation(context) {
      const target = logger as { addContext?: (context: unknown) => void } | false;
      if (!target || typeof target.addContext !== 'function' || typeof context !== 'object' || context === null) return;
      try {
        target.addContext(context);
      } catch {
        // Observability never changes a run.
      }
    },
    problem(job, message) {
      try {
        if (logger) logger.error('lease-guard', { job, problem: message });
      } catch {
        // Observability never changes a run.
      }
    },
    decision(decision) {
      try {
        if (logger) {
          logger[levelOf(decision)]('lease-guard', definedFields(decision));
        }
        const metric = OUTCOME_METRIC[decision.outcome];
        if (metric) count(decision.job, metric, 'Count', 1);
        if (decision.completionNotRecorded) count(decision.job, METRICS.completionNotRecorded, 'Count', 1);
        if (decision.heldByUnconfirmedClaim) count(decision.job, METRICS.skippedUnconfirmed, 'Count', 1);
        if (decision.claimLatencyMs !== undefined) {
          count(decision.job, METRICS.claimLatency, 'Milliseconds', Math.round(decision.claimLatencyMs));
        }
      } catch {
        // A broken logger or metrics sink must not change whether or how the job runs.
      }
    },
  };
}
