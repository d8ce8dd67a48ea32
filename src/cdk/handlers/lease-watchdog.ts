/**
 * The LeaseWatchdog's function: a dead-man's switch for every job in the lease table. Run on a
 * schedule in the database's region, it reads each job's last completed tick (`tick_done`, written
 * by whichever region ran the tick) and publishes its lag as the `CompletionLag` metric, dimension
 * `Job`, in embedded metric format. The construct alarms when a job's lag exceeds its limit, so a
 * job that every region skips (say, under clock skew) or that never completes is noticed.
 */
import { DEFAULTS, METRICS } from '../../constants.js';
import { leaseClustersEnv, leaseEnv } from '../../env.js';
import { completionLag } from '../../lease/lag.js';
import { createSqlLeaseStore } from '../../lease/sql-lease-store.js';
import { createClusterExecutor } from '../../sql/cluster-executor.js';
import { createDataApiExecutor } from '../../sql/data-api-executor.js';

export interface JobLag {
  readonly job: string;
  /** Seconds since the last completed tick; for a job that never completed, since its first claim. */
  readonly lagSeconds: number;
  /** Whether any tick of the job ever completed. */
  readonly completed: boolean;
}

export interface WatchdogReport {
  readonly jobs: readonly JobLag[];
}

export async function handler(): Promise<WatchdogReport> {
  // Created per run: the watchdog runs every few minutes, and a closed client holds no sockets.
  // A global database (LeaseDatabase.global) lists its clusters; the writer answers.
  const clusters = leaseClustersEnv();
  const executor = clusters ? createClusterExecutor({ clusters }) : createDataApiExecutor();
  try {
    const states = await createSqlLeaseStore({ executor, table: leaseEnv('TABLE') ?? DEFAULTS.table }).list();
    const jobs = states.map((state): JobLag => {
      const { lagMs } = completionLag(state);
      const since = lagMs ?? Math.max(0, state.dbNow.getTime() - state.createdAt.getTime());
      return { job: state.job, lagSeconds: Math.round(since / 1000), completed: lagMs !== null };
    });
    for (const lag of jobs) process.stdout.write(`${JSON.stringify(lagMetric(lag))}\n`);
    return { jobs };
  } finally {
    await executor.close();
  }
}

/**
 * One embedded-metric-format record per job: namespace and the single `Job` dimension exactly as
 * the middleware's own metrics, so the construct's alarms find it.
 */
function lagMetric(lag: JobLag): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: METRICS.namespace,
          Dimensions: [[METRICS.dimension]],
          Metrics: [{ Name: METRICS.completionLag, Unit: 'Seconds' }],
        },
      ],
    },
    [METRICS.dimension]: lag.job,
    [METRICS.completionLag]: lag.lagSeconds,
  };
}
