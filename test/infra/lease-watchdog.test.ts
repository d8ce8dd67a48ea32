import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../src/cdk/handlers/lease-watchdog.js';
import { METRICS } from '../../src/constants.js';
import { completionLag } from '../../src/lease/lag.js';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { fromSqlTime, toSqlTime } from '../../src/lease/time.js';
import { createDataApiExecutor } from '../../src/sql/data-api-executor.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { LOCAL_ARNS, type LocalDataApi, startLocalDataApi } from '../local/data-api-fixture.js';

// The LeaseWatchdog's function as Lambda runs it: the real Data API client, configured only by the
// LEASE_GUARD_* environment the construct sets, against the local Data API server.
describe('lease-watchdog handler', () => {
  const table = 'watched_leases';
  let api: LocalDataApi;
  let executor: SqlExecutor;

  beforeAll(async () => {
    api = await startLocalDataApi('watchdog');
    executor = createDataApiExecutor({ client: api.client, database: api.database, ...LOCAL_ARNS });
    await migrate(executor, table);
    // The rows as the guards leave them, written directly so the test depends only on the columns
    // the watchdog reads: tick_done (the newest completed tick) and created_at (the first claim).
    const { rows } = await executor.execute({ sql: 'SELECT UTC_TIMESTAMP(6) AS now' });
    const dbNow = fromSqlTime(rows[0]?.now) as Date;
    const minutesAgo = (minutes: number) => toSqlTime(new Date(dbNow.getTime() - minutes * 60_000));
    const row = (job: string, tickDone: string | null, createdAt: string) =>
      executor.execute({
        sql: `INSERT INTO \`${table}\` (job, tick_done, created_at, runs, failures) VALUES (:job, :tick_done, :created_at, 1, 0)`,
        params: { job, tick_done: tickDone, created_at: createdAt },
      });
    // A job that keeps completing, one whose last completed tick is 50 minutes old (its later ticks
    // failed), and one that never completed.
    await row('steady', minutesAgo(1), minutesAgo(120));
    await row('stopped', minutesAgo(50), minutesAgo(120));
    await row('never', null, minutesAgo(2));
  });

  afterAll(async () => {
    await executor?.close();
    await api?.close();
  });

  beforeEach(() => {
    vi.stubEnv('AWS_ENDPOINT_URL_RDS_DATA', api.server.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    vi.stubEnv('LEASE_GUARD_RESOURCE_ARN', LOCAL_ARNS.resourceArn);
    vi.stubEnv('LEASE_GUARD_SECRET_ARN', LOCAL_ARNS.secretArn);
    vi.stubEnv('LEASE_GUARD_DATABASE', api.database);
    vi.stubEnv('LEASE_GUARD_TABLE', table);
  });

  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('reports the lag of a job that stopped completing, beside one that keeps completing', async () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const report = await handler();
    const byJob = Object.fromEntries(report.jobs.map((lag) => [lag.job, lag]));
    expect(Object.keys(byJob).sort()).toEqual(['never', 'steady', 'stopped']);
    expect(byJob.stopped).toMatchObject({ completed: true });
    // Measured on the database clock from ticks set relative to it: 50 minutes, plus the setup's time.
    expect(byJob.stopped!.lagSeconds).toBeGreaterThanOrEqual(50 * 60);
    expect(byJob.stopped!.lagSeconds).toBeLessThan(55 * 60);
    expect(byJob.steady!.lagSeconds).toBeLessThan(5 * 60);
    expect(byJob.never).toMatchObject({ completed: false });

    // One embedded-metric record per job, in the namespace and dimension the alarms use.
    const records = written.map((line) => JSON.parse(line));
    const stopped = records.find((record) => record[METRICS.dimension] === 'stopped');
    expect(stopped).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: METRICS.namespace,
            Dimensions: [[METRICS.dimension]],
            Metrics: [{ Name: METRICS.completionLag, Unit: 'Seconds' }],
          },
        ],
      },
      [METRICS.completionLag]: byJob.stopped!.lagSeconds,
    });
    expect(records).toHaveLength(3);
  });

  it('agrees with completionLag: the stopped job is overdue at 3 periods of 5 minutes, the steady one is not', async () => {
    const states = await createSqlLeaseStore({ executor, table }).list();
    const overdue = states
      .filter((state) => completionLag(state, { periodMs: 5 * 60_000, periods: 3 }).overdue)
      .map((state) => state.job);
    // 'never' has not completed either, but its row is minutes old: not yet past 15 minutes.
    expect(overdue).toEqual(['stopped']);
  });
});
