import middy from '@middy/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULTS } from '../../src/constants.js';
import { LeaseGuardConfigError, LeaseUnavailableError, StoreErrorKind } from '../../src/errors.js';
import type { LeaseGuardOptions } from '../../src/guard/options.js';
import type { LeaseGuardContext, LeaseSkipped } from '../../src/guard/types.js';
import type { LeaseStore } from '../../src/lease/lease-store.js';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { leaseGuard } from '../../src/middleware/lease-guard.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { currentTick, lambdaContext, scheduledRuleEvent, schedulerEvent } from '../fixtures/lambda.js';
import { captureObservability } from '../fixtures/observe.js';
import { freshDatabase } from '../support/database.js';
import { faultyExecutor } from '../support/faulty-executor.js';

let sequence = 0;
const uniqueJob = (label: string) => `${label}-${++sequence}`;

describe('leaseGuard middleware (mysql2, real database)', () => {
  let executor: ReturnType<typeof faultyExecutor>;
  let raw: ReturnType<typeof createMysql2Executor>;
  let inspector: LeaseStore;

  beforeAll(async () => {
    raw = createMysql2Executor({ url: await freshDatabase('middleware') });
    await migrate(raw, 'lease_guard');
    executor = faultyExecutor(raw);
    inspector = createSqlLeaseStore({ executor: raw });
  });
  afterAll(() => raw.close());

  /** A guarded handler whose body records its runs; the body can be swapped per test. */
  function guarded(
    options: Partial<LeaseGuardOptions> & { job: string },
    body?: (event: unknown, context: LeaseGuardContext) => Promise<unknown>,
  ) {
    const seen = captureObservability();
    const runs: LeaseGuardContext['lease'][] = [];
    const handler = middy<unknown, unknown, Error, LeaseGuardContext>(
      async (event: unknown, context: LeaseGuardContext) => {
        runs.push(context.lease);
        return body ? body(event, context) : { done: context.lease.fence };
      },
    ).use(
      leaseGuard({
        executor,
        logger: seen.logger,
        metrics: seen.metrics,
        retry: { baseDelayMs: 1, maxDelayMs: 5 },
        ...options,
      }),
    );
    return { handler, runs, seen };
  }

  describe('duplicates', () => {
    it('runs a tick once when ten duplicates arrive at the same time', async () => {
      const job = uniqueJob('burst');
      const { handler, runs } = guarded({ job });
      const event = schedulerEvent(currentTick());
      const results = await Promise.all(Array.from({ length: 10 }, () => handler(event, lambdaContext())));
      expect(runs).toHaveLength(1);
      const skipped = results.filter((r): r is LeaseSkipped => (r as LeaseSkipped).status === 'skipped');
      expect(skipped).toHaveLength(9);
      // A duplicate that reaches the database after the winner finished sees the tick done instead.
      for (const skip of skipped) expect(['held', 'tick-done']).toContain(skip.reason);
    });

    it('skips a duplicate that arrives after the run succeeded', async () => {
      const job = uniqueJob('sequential');
      const { handler, runs } = guarded({ job });
      const event = scheduledRuleEvent(new Date(currentTick().getTime() + 2_000));
      expect(await handler(event, lambdaContext())).toEqual({ done: 1 });
      expect(await handler(event, lambdaContext())).toMatchObject({ status: 'skipped', reason: 'tick-done', job });
      expect(runs).toHaveLength(1);
      // The rule's `time` was floored to the minute.
      expect(runs[0]?.tick).toEqual(currentTick());
    });

    it('runs the tick again on the retry after a failed run, and rethrows the error unchanged', async () => {
      const job = uniqueJob('retry');
      const failure = new TypeError('downstream said no');
      let calls = 0;
      const { handler, runs } = guarded({ job }, async () => {
        calls++;
        if (calls === 1) throw failure;
        return 'ok';
      });
      const event = schedulerEvent(currentTick());
      await expect(handler(event, lambdaContext())).rejects.toBe(failure);
      expect(await handler(event, lambdaContext())).toBe('ok');
      expect(runs.map((lease) => lease.fence)).toEqual([1, 2]);
      expect(await inspector.inspect(job)).toMatchObject({
        failures: 1,
        runs: 2,
        lastError: 'TypeError: downstream said no',
      });
    });
  });

  describe('skip reasons', () => {
    it('skips a stale tick, a future tick, a malformed tick and a replay without running', async () => {
      const job = uniqueJob('reasons');
      const { handler, runs } = guarded({ job });
      const reason = async (event: unknown) => ((await handler(event, lambdaContext())) as LeaseSkipped).reason;
      expect(await reason(schedulerEvent(currentTick(-24 * 60)))).toBe('stale-tick');
      expect(await reason(schedulerEvent(currentTick(24 * 60)))).toBe('future-tick');
      expect(await reason({ scheduledTime: 'yesterday' })).toBe('invalid-event');
      expect(await reason({ ...scheduledRuleEvent(currentTick()), 'replay-name': 'archive-replay' })).toBe('replay');
      expect(runs).toHaveLength(0);
    });

    it('keeps the owner region and makes another region standby (affinity)', async () => {
      const job = uniqueJob('affinity');
      const east = guarded({ job, affinity: { owner: 'us-east-1', failoverAfterMs: 60_000 }, tick: 'off' });
      const west = guarded({ job, affinity: { owner: 'eu-west-1', failoverAfterMs: 60_000 }, tick: 'off' });
      await east.handler({}, lambdaContext());
      expect(await west.handler({}, lambdaContext())).toMatchObject({ status: 'skipped', reason: 'standby' });
      await east.handler({}, lambdaContext());
      expect([east.runs.length, west.runs.length]).toEqual([2, 0]);
    });

    it('skips while another invocation holds the lease (lease-only mode for a manual invoke)', async () => {
      const job = uniqueJob('manual');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const slow = guarded({ job }, () => gate);
      const first = slow.handler({ manual: true }, lambdaContext());
      await vi.waitFor(async () => expect((await inspector.inspect(job))?.holder).toBeTruthy());
      expect(await slow.handler({ manual: true }, lambdaContext())).toMatchObject({ reason: 'held', tick: null });
      release();
      await first;
      expect(slow.runs).toHaveLength(1);
    });
  });

  describe('the body', () => {
    it('sees the lease on the context: job, fence, holder, tick and expiry', async () => {
      const job = uniqueJob('context');
      const { handler, runs } = guarded({ job });
      const tick = currentTick();
      const context = lambdaContext({ functionName: 'nightly-report', timeoutMs: 30_000 });
      await handler(schedulerEvent(tick), context);
      const lease = runs[0]!;
      expect(lease).toMatchObject({ job, fence: 1, tick });
      expect(lease.holder).toContain(context.awsRequestId);
      expect(lease.holder).toContain('nightly-report');
      // The default lease is the remaining time plus the 10 s margin.
      const ahead = lease.expiresAt.getTime() - Date.now();
      expect(ahead).toBeGreaterThan(35_000);
      expect(ahead).toBeLessThanOrEqual(40_000);
    });

    it('returns undefined from a body that returns nothing, and still completes the tick', async () => {
      const job = uniqueJob('undefined');
      const { handler } = guarded({ job }, async () => undefined);
      const tick = currentTick();
      expect(await handler(schedulerEvent(tick), lambdaContext())).toBeUndefined();
      expect((await inspector.inspect(job))?.tickDone).toEqual(tick);
    });

    it('records a failure, keeps the lease to its end and ends the environment when middy’s early timeout abandons the body', async () => {
      const job = uniqueJob('timeout');
      const seen = captureObservability();
      // The body may resume after a Lambda freeze: the environment must end (spied: it would end the test run).
      const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
      const handler = middy(() => new Promise(() => undefined), { timeoutEarlyInMillis: 1_700 }).use(
        leaseGuard({ job, executor, logger: seen.logger, metrics: seen.metrics, releaseTimeoutMs: 1_000 }),
      );
      await expect(handler(schedulerEvent(currentTick()), lambdaContext({ timeoutMs: 2_000 }))).rejects.toMatchObject({
        name: 'TimeoutError',
      });
      // The abandoned body may still be running: nobody else may start until the lease runs out,
      // which is the invocation's deadline plus the margin; the tick stays open for the retry.
      const state = await inspector.inspect(job);
      expect(state).toMatchObject({ held: true, failures: 1, holder: null, tickDone: null });
      expect(state!.leaseUntil.getTime() - state!.dbNow.getTime()).toBeGreaterThan(9_000);
      // …and no longer: on the database clock, at most the 2 s the invocation had plus the margin.
      expect(state!.leaseUntil.getTime() - state!.claimedAt!.getTime()).toBeLessThanOrEqual(
        2_000 + DEFAULTS.leaseMarginMs,
      );
      const other = guarded({ job });
      expect(await other.handler(schedulerEvent(currentTick()), lambdaContext())).toMatchObject({ reason: 'held' });
      expect(exit).toHaveBeenCalledTimes(1);
      exit.mockRestore();
    });

    it('frees the lease at once when the body itself fails', async () => {
      const job = uniqueJob('body-fails');
      const { handler } = guarded({ job }, async () => {
        throw new Error('nope');
      });
      await expect(handler(schedulerEvent(currentTick()), lambdaContext())).rejects.toThrow('nope');
      expect(await inspector.inspect(job)).toMatchObject({ held: false, failures: 1, holder: null, tickDone: null });
    });
  });

  describe('middleware order', () => {
    it('never claims when a middleware before it returns early', async () => {
      const job = uniqueJob('early');
      const { runs, seen } = guarded({ job });
      const handler = middy(async () => 'ran')
        .use({ before: async () => 'warmup' })
        .use(leaseGuard({ job, executor, logger: seen.logger, metrics: seen.metrics }));
      expect(await handler(schedulerEvent(currentTick()), lambdaContext())).toBe('warmup');
      expect(runs).toHaveLength(0);
      expect(await inspector.inspect(job)).toBeUndefined();
    });

    it('does not crash when a middleware before it throws and onError runs without a claim', async () => {
      const job = uniqueJob('earlier-throws');
      const failure = new Error('auth failed');
      const seen = captureObservability();
      const handler = middy(async () => 'ran')
        .use({
          before: async () => {
            throw failure;
          },
        })
        .use(leaseGuard({ job, executor, logger: seen.logger, metrics: seen.metrics }));
      await expect(handler({}, lambdaContext())).rejects.toBe(failure);
      expect(seen.lines).toHaveLength(0);
    });

    it('waits for its own release still under way (an onError after it answered) before claiming the next tick', async () => {
      const job = uniqueJob('unsettled');
      const seen = captureObservability();
      const sql = createSqlLeaseStore({ executor: raw });
      // The first release waits at a gate, as a release frozen with its sandbox would; the gate
      // opens on a timer, and a claim that arrives while it is still shut is the violation.
      let open!: () => void;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      let gateOpen = false;
      let claimedBeforeOwnRelease = false;
      let releases = 0;
      const store = new Proxy(sql, {
        get(target, key) {
          if (key === 'release') {
            return async (...args: Parameters<LeaseStore['release']>) => {
              if (++releases === 1) await gate;
              return target.release(...args);
            };
          }
          if (key === 'claim') {
            return (...args: Parameters<LeaseStore['claim']>) => {
              if (releases > 0 && !gateOpen) claimedBeforeOwnRelease = true;
              return target.claim(...args);
            };
          }
          const value = Reflect.get(target, key);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      let runs = 0;
      const handler = middy(async () => {
        runs++;
        if (runs === 1) throw new Error('downstream said no');
        return 'sent';
      })
        .use(leaseGuard({ job, store, logger: seen.logger, metrics: seen.metrics }))
        .use({ onError: async () => ({ statusCode: 500 }) });
      expect(await handler(schedulerEvent(currentTick(-1)), lambdaContext())).toEqual({ statusCode: 500 });
      expect(releases).toBe(1); // started when the body threw, still at the gate
      setTimeout(() => {
        gateOpen = true;
        open();
      }, 50);
      expect(await handler(schedulerEvent(currentTick()), lambdaContext())).toBe('sent');
      expect(claimedBeforeOwnRelease).toBe(false);
      expect(runs).toBe(2);
    });
  });

  describe('store faults', () => {
    it('retries transient failures and runs once the store answers', async () => {
      const job = uniqueJob('transient');
      const { handler, runs, seen } = guarded({ job });
      executor.plan({ match: /^UPDATE/, times: 3, when: 'before' });
      expect(await handler(schedulerEvent(currentTick()), lambdaContext())).toEqual({ done: 1 });
      expect(runs).toHaveLength(1);
      expect(seen.lines.find((l) => l.fields.outcome === 'won')?.fields.attempts).toBe(4);
    });

    it('settles a claim whose answer was lost after commit by re-issuing it, and runs once', async () => {
      const job = uniqueJob('lost-answer');
      const { handler, runs } = guarded({ job });
      executor.plan({ match: /LAST_INSERT_ID/, times: 1, when: 'after-commit' });
      expect(await handler(schedulerEvent(currentTick()), lambdaContext())).toEqual({ done: 1 });
      expect(runs.map((lease) => lease.fence)).toEqual([1]);
      expect(await inspector.inspect(job)).toMatchObject({ runs: 1, held: false });
    });

    it('fails closed with LeaseUnavailableError when the budget runs out, and never runs the body', async () => {
      const job = uniqueJob('closed');
      const { handler, runs, seen } = guarded({ job, retry: { budgetMs: 200, baseDelayMs: 10, maxDelayMs: 20 } });
      executor.plan({ times: 1_000, when: 'before' });
      const error = await handler(schedulerEvent(currentTick()), lambdaContext()).catch((e: unknown) => e);
      executor.plan({ times: 0, when: 'before' });
      expect(error).toBeInstanceOf(LeaseUnavailableError);
      expect((error as Error).message).toContain(job);
      expect(runs).toHaveLength(0);
      expect(seen.lines.at(-1)).toMatchObject({ level: 'error', fields: { outcome: 'unavailable', job } });
      expect(seen.points.map((p) => p.name)).toContain('LeaseUnavailable');
    });

    it("skips with reason 'unavailable' instead when onUnavailable is 'skip'", async () => {
      const job = uniqueJob('closed-skip');
      const { handler, runs } = guarded({ job, onUnavailable: 'skip', retry: { budgetMs: 100, baseDelayMs: 10 } });
      executor.plan({ times: 1_000, when: 'before' });
      const result = await handler(schedulerEvent(currentTick()), lambdaContext());
      executor.plan({ times: 0, when: 'before' });
      expect(result).toMatchObject({ status: 'skipped', reason: 'unavailable', job });
      expect(runs).toHaveLength(0);
    });

    it('fails fast on a permanent failure without retrying', async () => {
      const job = uniqueJob('permanent');
      const { handler, seen } = guarded({ job });
      executor.plan({ times: 1, when: 'before', kind: StoreErrorKind.PERMANENT });
      await expect(handler(schedulerEvent(currentTick()), lambdaContext())).rejects.toThrow(LeaseUnavailableError);
      expect(seen.lines.at(-1)?.fields.attempts).toBe(1);
    });

    it('retries a failed success release, records the tick and returns the body’s result', async () => {
      const job = uniqueJob('release-fails');
      const { handler, seen } = guarded({ job });
      const before = executor.injected;
      const tick = currentTick();
      executor.plan({ match: /tick_done = CASE/, times: 1, when: 'before' });
      expect(await handler(schedulerEvent(tick), lambdaContext())).toEqual({ done: 1 });
      expect(executor.injected).toBe(before + 1);
      expect(await inspector.inspect(job)).toMatchObject({ held: false, tickDone: tick });
      expect(seen.lines.at(-1)).toMatchObject({ level: 'info', fields: { outcome: 'succeeded' } });
    });

    it('keeps the body’s error when the release after it fails too', async () => {
      const job = uniqueJob('both-fail');
      const failure = new RangeError('body failed');
      const before = executor.injected;
      const { handler } = guarded({ job }, async () => {
        executor.plan({ match: /failures = failures/, times: 1, when: 'before' });
        throw failure;
      });
      await expect(handler(schedulerEvent(currentTick()), lambdaContext())).rejects.toBe(failure);
      // The failure release really failed: without this, a changed release text would pass unfaulted.
      expect(executor.injected).toBe(before + 1);
    });
  });

  describe('observability', () => {
    it('logs one structured line per decision and counts each outcome per job', async () => {
      const job = uniqueJob('observed');
      const { handler, seen } = guarded({ job });
      const event = schedulerEvent(currentTick());
      await handler(event, lambdaContext());
      await handler(event, lambdaContext());
      expect(seen.lines.map((l) => [l.level, l.message, l.fields.outcome, l.fields.reason])).toEqual([
        ['info', 'lease-guard', 'won', undefined],
        ['info', 'lease-guard', 'succeeded', undefined],
        ['info', 'lease-guard', 'skipped', 'tick-done'],
      ]);
      expect(seen.lines[0]?.fields).toMatchObject({
        job,
        fence: 1,
        tick: event.scheduledTime.replace('Z', '.000Z'),
        attempts: 1,
      });
      expect(seen.lines[0]?.fields.claimLatencyMs).toEqual(expect.any(Number));
      expect(seen.points.filter((p) => p.unit === 'Count').map((p) => [p.name, p.dimensions])).toEqual([
        ['RunSucceeded', { Job: job }],
        ['Skipped', { Job: job }],
      ]);
      expect(seen.points.filter((p) => p.name === 'ClaimLatency')).toHaveLength(2);
    });
  });
});

describe('leaseGuard options', () => {
  const bad: [string, unknown, RegExp][] = [
    ['no options', undefined, /needs an options object/],
    ['a missing job', {}, /job/],
    ['an empty job', { job: '' }, /job: job must be a non-empty string/],
    ['a hostile job', { job: "x'; DROP TABLE t; --" }, /job: .*may contain only/],
    ['a non-ASCII job', { job: 'jöb' }, /job: .*may contain only/],
    ['a bad table', { job: 'j', table: 'lease guard' }, /table: table must be an SQL identifier/],
    ['a negative lease', { job: 'j', leaseMs: -1 }, /leaseMs: leaseMs must be at least 1000 ms, got -1/],
    ['a bad tick mode', { job: 'j', tick: 'sometimes' }, /tick: tick must be 'auto', 'off' or a function/],
    [
      'a bad onUnavailable',
      { job: 'j', onUnavailable: 'ignore' },
      /onUnavailable must be 'throw' or 'skip', got "ignore"/,
    ],
    ['an unknown option', { job: 'j', ttl: 5 }, /ttl/],
    ['minHold beyond the lease', { job: 'j', leaseMs: 1000, minHoldMs: 5000 }, /minHoldMs must not exceed leaseMs/],
    [
      'two stores',
      { job: 'j', executor: { execute() {} }, store: { claim() {}, release() {}, renew() {} } },
      /at most one of store, executor and client/,
    ],
    ['a bad affinity owner', { job: 'j', affinity: { owner: 'us east' } }, /affinity.owner/],
  ];

  it.each(bad)('throws LeaseGuardConfigError for %s, naming the option and the value', (_, options, message) => {
    let error: unknown;
    try {
      leaseGuard(options as LeaseGuardOptions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LeaseGuardConfigError);
    expect((error as Error).message).toMatch(message);
  });
});
