import middy from '@middy/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LeaseUnavailableError } from '../../src/errors.js';
import type { LeaseGuardOptions } from '../../src/guard/options.js';
import type { LeaseGuardContext, LeaseSkipped } from '../../src/guard/types.js';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { DataApiOperation } from '../../src/local/data-api/index.js';
import { leaseGuard } from '../../src/middleware/lease-guard.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { currentTick, lambdaContext, schedulerEvent } from '../fixtures/lambda.js';
import { captureObservability } from '../fixtures/observe.js';
import { LOCAL_ARNS, type LocalDataApi, startLocalDataApi } from '../local/data-api-fixture.js';

let sequence = 0;
const uniqueJob = (label: string) => `${label}-${++sequence}`;

describe('leaseGuard over the local Data API with the real SDK client', () => {
  let local: LocalDataApi;
  let db: ReturnType<typeof createMysql2Executor>;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    local = await startLocalDataApi('middleware_data_api');
    db = createMysql2Executor({ url: local.mysqlUrl });
    await migrate(db, 'lease_guard');
  });
  afterEach(() => local.server.faults.clear());
  afterAll(async () => {
    process.env = savedEnv;
    await db.close();
    await local.close();
  });

  function guarded(options: Partial<LeaseGuardOptions> & { job: string }) {
    const seen = captureObservability();
    let runs = 0;
    const handler = middy<unknown, unknown, Error, LeaseGuardContext>(
      async (_event: unknown, context: LeaseGuardContext) => {
        runs++;
        return { fence: context.lease.fence };
      },
    ).use(
      leaseGuard({
        client: local.client,
        database: local.database,
        ...LOCAL_ARNS,
        logger: seen.logger,
        metrics: seen.metrics,
        retry: { baseDelayMs: 5, maxDelayMs: 50, attemptTimeoutMs: 2_000 },
        ...options,
      }),
    );
    return { handler, seen, runs: () => runs };
  }

  it('runs a burst of duplicates once, configured only through the environment (the quick start)', async () => {
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_RDS_DATA: local.server.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      LEASE_GUARD_RESOURCE_ARN: LOCAL_ARNS.resourceArn,
      LEASE_GUARD_SECRET_ARN: LOCAL_ARNS.secretArn,
      LEASE_GUARD_DATABASE: local.database,
    });
    const job = uniqueJob('quick-start');
    const seen = captureObservability();
    let runs = 0;
    const handler = middy(async () => {
      runs++;
      return 'sent';
    }).use(leaseGuard({ job, logger: seen.logger, metrics: seen.metrics }));
    const event = schedulerEvent(currentTick());
    // Warm the row so the burst measures the steady state, then count calls the server answers.
    await handler(schedulerEvent(currentTick(-1)), lambdaContext());
    const calls = local.server.faults.inject({ operations: [DataApiOperation.EXECUTE_STATEMENT], latencyMs: 0 });
    const results = await Promise.all(Array.from({ length: 12 }, () => handler(event, lambdaContext())));
    expect(runs).toBe(2);
    expect(results.filter((r) => r === 'sent')).toHaveLength(1);
    const skipped = (results as unknown[]).filter((r): r is LeaseSkipped => (r as LeaseSkipped).status === 'skipped');
    expect(skipped).toHaveLength(11);
    // Winner: claim + release; each loser: its claim alone.
    expect(calls.hits).toBe(2 + 11);
  });

  it('retries DatabaseResumingException until the cluster has resumed, then runs once', async () => {
    const job = uniqueJob('resuming');
    const { handler, seen, runs } = guarded({ job });
    const resuming = local.server.faults.inject({ exception: 'DatabaseResumingException', count: 4 });
    expect(await handler(schedulerEvent(currentTick()), lambdaContext())).toEqual({ fence: 1 });
    expect(resuming.hits).toBe(4);
    expect(runs()).toBe(1);
    expect(seen.lines[0]?.fields).toMatchObject({ outcome: 'won', attempts: 5 });
  });

  it('settles a claim whose response was lost after commit, and runs once with its fence', async () => {
    const job = uniqueJob('dropped');
    const { handler, runs } = guarded({ job });
    const dropped = local.server.faults.inject({ match: /LAST_INSERT_ID/, dropResponseAfterCommit: true, count: 1 });
    expect(await handler(schedulerEvent(currentTick()), lambdaContext())).toEqual({ fence: 1 });
    expect(dropped.hits).toBe(1);
    expect(runs()).toBe(1);
    const state = await createSqlLeaseStore({ executor: db }).inspect(job);
    expect(state).toMatchObject({ runs: 1, fence: 1, held: false });
  });

  it('gives up on a hung call at the attempt deadline and re-issues it', async () => {
    const job = uniqueJob('hung');
    const { handler, runs } = guarded({ job, retry: { attemptTimeoutMs: 300, baseDelayMs: 5 } });
    const hung = local.server.faults.inject({ match: /LAST_INSERT_ID/, hangUntilClientGivesUp: true, count: 1 });
    expect(await handler(schedulerEvent(currentTick()), lambdaContext())).toEqual({ fence: 1 });
    expect(hung.hits).toBe(1);
    expect(runs()).toBe(1);
  });

  it('fails closed when the database stays unavailable past the budget, and skips instead when asked', async () => {
    const job = uniqueJob('unavailable');
    local.server.faults.inject({ exception: 'DatabaseUnavailableException' });
    const thrower = guarded({ job, retry: { budgetMs: 400, baseDelayMs: 20, maxDelayMs: 50 } });
    await expect(thrower.handler(schedulerEvent(currentTick()), lambdaContext())).rejects.toBeInstanceOf(
      LeaseUnavailableError,
    );
    const skipper = guarded({ job, onUnavailable: 'skip', retry: { budgetMs: 400, baseDelayMs: 20, maxDelayMs: 50 } });
    expect(await skipper.handler(schedulerEvent(currentTick()), lambdaContext())).toMatchObject({
      status: 'skipped',
      reason: 'unavailable',
    });
    expect(thrower.runs() + skipper.runs()).toBe(0);
  });

  it('fails fast on a permanent error such as a missing table', async () => {
    const job = uniqueJob('no-table');
    const { handler, seen } = guarded({ job, table: 'no_such_table' });
    await expect(handler(schedulerEvent(currentTick()), lambdaContext())).rejects.toBeInstanceOf(LeaseUnavailableError);
    expect(seen.lines[0]?.fields).toMatchObject({ outcome: 'unavailable', attempts: 1 });
  });
});
