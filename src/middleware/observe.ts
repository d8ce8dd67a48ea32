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
}

const OUTCOME_METRIC: Partial<Record<Outcome, string>> = {
  [Outcome.SKIPPED]: METRICS.skipped,
  [Outcome.UNAVAILABLE]: METRICS.unavailable,
  [Outcome.SUCCEEDED]: METRICS.succeeded,
  [Outcome.FAILED]: METRICS.failed,
};

export interface Observer {
  decision(decision: Decision): void;
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
export function createObserver(logger: LeaseGuardLogger | false, metrics: LeaseGuardMetrics | false): Observer {
  function count(job: string, name: string, unit: MetricUnitName, value: number): void {
    if (!metrics) return;
    const single = metrics.singleMetric();
    single.addDimension(METRICS.dimension, job);
    single.addMetric(name, unit, value);
  }
  return {
    decision(decision) {
      try {
        if (logger) {
          const line = Object.fromEntries(Object.entries(decision).filter(([, value]) => value !== undefined));
          const level = decision.outcome === Outcome.UNAVAILABLE ? 'error' : decision.releaseError ? 'warn' : 'info';
          logger[level]('lease-guard', line);
        }
        const metric = OUTCOME_METRIC[decision.outcome];
        if (metric) count(decision.job, metric, 'Count', 1);
        if (decision.claimLatencyMs !== undefined) {
          count(decision.job, METRICS.claimLatency, 'Milliseconds', Math.round(decision.claimLatencyMs));
        }
      } catch {
        // A broken logger or metrics sink must not change whether or how the job runs.
      }
    },
  };
}
