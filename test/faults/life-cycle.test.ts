/**
 * Issue 21's edges, through the public front doors against the real database, each beside a
 * negative control that shows the check catching the weaker design:
 *
 * 1. A lease shorter than the invocation: kept by renewal while the body runs, so a duplicate of
 *    the same tick after the first lease would have lapsed is skipped `held` (control: a store whose
 *    renewals change nothing lets the duplicate run beside the body).
 * 2. Ending the process under other invocations: an abandoned body's environment ends only after
 *    another invocation's release in flight has landed (control: the moment of abandonment, when
 *    that release had not landed). On Lambda Managed Instances it never ends; the abandoned body's
 *    lease is renewed until it settles and its real outcome is recorded.
 * 3. A stale holder's success records the tick the row granted, not the Date the body moved.
 * 4. An unanswered claim that failed closed withdraws itself: the next tick runs at once (control:
 *    a store that cannot withdraw; the skip behind it is logged at WARN and counted).
 *
 * Run in middy 6 (and middy 7 on Node 22+), process.exit spied.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { METRICS } from '../../src/constants.js';
import { LeaseBodyAbandonedError, LeaseUnavailableError } from '../../src/errors.js';
import { workInFlight } from '../../src/guard/execution.js';
import type { LeaseGuardOptions } from '../../src/guard/options.js';
import type { LeaseGuardContext } from '../../src/guard/types.js';
import type { LeaseStore } from '../../src/lease/lease-store.js';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { leaseGuard } from '../../src/middleware/lease-guard.js';
import { leaseGuarded } from '../../src/middleware/lease-guarded.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { currentTick, lambdaContext, schedulerEvent } from '../fixtures/lambda.js';
import { captureObservability } from '../fixtures/observe.js';
import { middyCores } from '../middleware/middy-cores.js';
import { freshDatabase } from '../support/database.js';
import { faultyExecutor } from '../support/faulty-executor.js';
import { until } from '../support/until.js';
import { delegate } from './edge-handler.js';

let sequence = 0;
const uniqueJob = (label: string) => `${label}-${++sequence}`;

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** A store whose methods are `inner`'s, with some replaced. */
function storeWith(inner: LeaseStore, replace: Partial<LeaseStore>): LeaseStore {
  return { ...delegate(inner), ...replace };
}

describe.each(await middyCores())('the invocation life cycle under faults (%s)', (_, middy) => {
  let raw: ReturnType<typeof createMysql2Executor>;
  let store: LeaseStore;
  let exits: { at: number }[];

  beforeAll(async () => {
    raw = createMysql2Executor({ url: await freshDatabase('life_cycle') });
    await migrate(raw, 'lease_guard');
    store = createSqlLeaseStore({ executor: raw });
  });
  afterAll(() => raw.close());
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  function spyExit() {
    exits = [];
    vi.spyOn(process, 'exit').mockImplementation((() => {
      exits.push({ at: performance.now() });
    }) as never);
  }

  const quiet = (): Pick<LeaseGuardOptions, 'logger' | 'metrics'> => ({ logger: false, metrics: false });

  describe('1. a lease shorter than the invocation', () => {
    /** Runs a body under a 1 s lease, lets that lease's first term pass on the database clock, then sends a duplicate. */
    async function overlapCheck(shape: 'leaseGuarded' | 'leaseGuard', guardStore: LeaseStore) {
      const job = uniqueJob(`short-${shape}`);
      const tick = currentTick();
      const bodyMayEnd = gate();
      const state = { running: 0, most: 0, ran: 0 };
      const body = async () => {
        state.running++;
        state.most = Math.max(state.most, state.running);
        await bodyMayEnd.promise;
        state.running--;
        state.ran++;
        return 'done';
      };
      const options = { job, store: guardStore, leaseMs: 1_000, ...quiet() };
      const handler =
        shape === 'leaseGuarded'
          ? middy(leaseGuarded(options, body))
          : middy<unknown, unknown, Error, LeaseGuardContext>().use(leaseGuard(options)).handler(body);
      const first = handler(schedulerEvent(tick), lambdaContext({ timeoutMs: 30_000 }));
      await until(() => state.running === 1, { what: 'the first body to start' });
      const claimed = await store.inspect(job);
      // The first lease term (1 s from the claim) has passed on the database clock.
      await until(async () => (await store.inspect(job))!.dbNow.getTime() > claimed!.claimedAt!.getTime() + 1_500, {
        what: 'the first lease term to pass',
      });
      let answered = false;
      const second = handler(schedulerEvent(tick), lambdaContext({ timeoutMs: 30_000 })).finally(() => {
        answered = true;
      });
      // The duplicate either answers (a skip) or starts a second body beside the first.
      await until(() => answered || state.running === 2, { what: 'the duplicate to be decided' });
      bodyMayEnd.open();
      const duplicate = await second;
      await first;
      await until(() => state.running === 0);
      return { duplicate, state, row: await store.inspect(job) };
    }

    it.each(['leaseGuarded', 'leaseGuard'] as const)(
      '%s renews the lease while the body runs: the duplicate is skipped',
      async (shape) => {
        const { duplicate, state, row } = await overlapCheck(shape, store);
        expect(duplicate).toMatchObject({ status: 'skipped', reason: 'held' });
        expect(state).toEqual({ running: 0, most: 1, ran: 1 });
        expect(row).toMatchObject({ runs: 1, holder: null });
      },
    );

    it('negative control: a guard whose renewals do not reach the row lets the duplicate run beside the body', async () => {
      const deaf = storeWith(store, { renew: async () => true });
      const { duplicate, state } = await overlapCheck('leaseGuarded', deaf);
      expect(duplicate).toBe('done');
      expect(state.most).toBe(2);
    });

    it('refuses a lease too short to renew, naming the option', () => {
      expect(() => leaseGuarded({ job: 'x', store, leaseMs: 500 }, () => undefined)).toThrow(
        /leaseMs: leaseMs must be at least 1000 ms, got 500/,
      );
      expect(() => leaseGuard({ job: 'x', store, maxLeaseMs: 10 })).toThrow(/maxLeaseMs must be at least 1000 ms/);
    });
  });

  describe('2. ending the process under other invocations', () => {
    it('standard Lambda: the abandoned body’s environment ends only after another invocation’s release landed', async () => {
      spyExit();
      const x = uniqueJob('x-abandoned');
      const y = uniqueJob('y-releasing');
      const tick = currentTick();
      const yReleaseMayLand = gate();
      let yReleaseSent = false;
      let yReleaseLanded = false;
      const yStore = storeWith(store, {
        release: async (request, options) => {
          yReleaseSent = true;
          await yReleaseMayLand.promise;
          const done = await store.release(request, options);
          yReleaseLanded = true;
          return done;
        },
      });
      const yHandler = middy(leaseGuarded({ job: y, store: yStore, ...quiet() }, async () => 'y done'));
      const xHandler = middy(
        leaseGuarded({ job: x, store, releaseTimeoutMs: 300, ...quiet() }, () => new Promise<never>(() => undefined)),
        { timeoutEarlyInMillis: 0 },
      );
      const yAnswer = yHandler(schedulerEvent(tick), lambdaContext({ timeoutMs: 60_000 }));
      await until(() => yReleaseSent, { what: "Y's release to be sent" });
      const xAnswer = xHandler(schedulerEvent(tick), lambdaContext({ timeoutMs: 2_500 })).catch((error) => error);
      await until(async () => (await store.inspect(x))?.failures === 1, { what: "X's abandonment to be recorded" });
      // Control: had the environment ended now, Y's success would be lost (holder kept, tick open).
      expect(await store.inspect(y)).toMatchObject({ tickDone: null, holder: expect.any(String) });
      expect(exits).toHaveLength(0);
      yReleaseMayLand.open();
      expect(await yAnswer).toBe('y done');
      await until(() => exits.length === 1, { what: 'the environment to end' });
      expect(yReleaseLanded).toBe(true);
      expect(await store.inspect(y)).toMatchObject({ tickDone: tick, holder: null });
      // X's lease is kept past its deadline: the body may run until the environment ends.
      expect(await store.inspect(x)).toMatchObject({ held: true, holder: null, tickDone: null });
      expect(await xAnswer).toBeInstanceOf(LeaseBodyAbandonedError);
    });

    it('Managed Instances: never ends the process; the abandoned body keeps a renewed lease and records its real outcome', async () => {
      spyExit();
      vi.stubEnv('AWS_LAMBDA_MAX_CONCURRENCY', '8');
      const job = uniqueJob('lmi');
      const tick = currentTick();
      const bodyMayEnd = gate();
      let bodyEnded = false;
      const seen = captureObservability();
      const handler = middy(
        leaseGuarded(
          { job, store, leaseMs: 1_000, releaseTimeoutMs: 300, logger: seen.logger, metrics: seen.metrics },
          async (_event, _context, { signal }) => {
            await bodyMayEnd.promise;
            bodyEnded = true;
            return signal.aborted ? 'finished after its deadline' : 'in time';
          },
        ),
        { timeoutEarlyInMillis: 0 },
      );
      const answer = await handler(schedulerEvent(tick), lambdaContext({ timeoutMs: 2_000 })).catch((error) => error);
      expect(answer).toBeInstanceOf(LeaseBodyAbandonedError);
      const claimed = await store.inspect(job);
      // Several lease terms later the body still runs, and still holds a live lease.
      await until(async () => (await store.inspect(job))!.dbNow.getTime() > claimed!.claimedAt!.getTime() + 3_000, {
        what: 'three lease terms to pass',
      });
      expect(await store.inspect(job)).toMatchObject({ held: true, holder: claimed!.holder, fence: claimed!.fence });
      expect(await handler(schedulerEvent(tick), lambdaContext({ timeoutMs: 60_000 }))).toMatchObject({
        reason: 'held',
      });
      bodyMayEnd.open();
      await until(async () => (await store.inspect(job))?.holder === null, { what: 'the real outcome to be recorded' });
      expect(bodyEnded).toBe(true);
      expect(await store.inspect(job)).toMatchObject({ tickDone: tick, failures: 0 });
      expect(exits).toHaveLength(0);
      expect(seen.points.map((point) => point.name)).toEqual(
        expect.arrayContaining([METRICS.abandoned, METRICS.succeeded]),
      );
      // A retry of the tick after its real success is a skip, never a second run.
      expect(await handler(schedulerEvent(tick), lambdaContext({ timeoutMs: 60_000 }))).toMatchObject({
        reason: 'tick-done',
      });
      await until(() => workInFlight() === 0, { what: 'no guarded work left in flight' });
    });
  });

  describe('one handler’s abort never reaches another’s body', () => {
    it('middy 6 shares one abort controller: X’s early timeout does not abort Y’s signal', async () => {
      spyExit();
      const y = uniqueJob('y-signal');
      const x = uniqueJob('x-early-timeout');
      const yMayEnd = gate();
      let ySignal: AbortSignal | undefined;
      const yHandler = middy(
        leaseGuarded({ job: y, store, ...quiet() }, async (_event, _context, { signal }) => {
          ySignal = signal;
          await yMayEnd.promise;
          return signal.aborted ? 'aborted' : 'y done';
        }),
      );
      // X's middy answers early (its timeoutEarlyInMillis leaves it 1.5 s of a 4 s invocation).
      const xHandler = middy(
        leaseGuarded({ job: x, store, releaseTimeoutMs: 300, ...quiet() }, () => new Promise(() => undefined)),
        { timeoutEarlyInMillis: 2_500 },
      );
      const yAnswer = yHandler(schedulerEvent(currentTick()), lambdaContext({ timeoutMs: 60_000 }));
      await until(() => ySignal !== undefined, { what: 'Y’s body to start' });
      const xAnswer = xHandler(schedulerEvent(currentTick()), lambdaContext({ timeoutMs: 4_000 })).catch(
        (error: Error) => error.name,
      );
      expect(await xAnswer).toBe('TimeoutError');
      expect(ySignal?.aborted).toBe(false);
      yMayEnd.open();
      expect(await yAnswer).toBe('y done');
      expect(await store.inspect(y)).toMatchObject({ holder: null, failures: 0 });
      // X's own deadline still abandons X (standard Lambda: its environment ends, spied here).
      await until(() => exits.length === 1, { what: 'X to be abandoned at its own deadline' });
      expect(await store.inspect(x)).toMatchObject({ failures: 1, held: true });
    });
  });

  describe('3. a stale holder’s success', () => {
    async function movedTick(guardStore: LeaseStore) {
      const job = uniqueJob('stale-success');
      const tick = currentTick(-1);
      const handler = middy(
        leaseGuarded({ job, store: guardStore, ...quiet() }, async (_event, context) => {
          // The body moves "its" tick a day ahead in place, then loses the lease to an operator.
          context.lease.tick?.setTime(context.lease.tick.getTime() + 24 * 60 * 60_000);
          await store.forceRelease(job);
          return 'done';
        }),
      );
      expect(await handler(schedulerEvent(tick), lambdaContext())).toBe('done');
      const row = await store.inspect(job);
      const next = await handler(schedulerEvent(currentTick()), lambdaContext());
      return { tick, row, next };
    }

    it('records the tick the row granted, so the next tick still runs', async () => {
      const { tick, row, next } = await movedTick(store);
      expect(row?.tickDone).toEqual(tick);
      expect(next).toBe('done');
    });

    it('negative control: recording the body’s Date skips every real tick for a day', async () => {
      const trusting = storeWith(store, {
        // Today's defect, put back: the stale success sends the Date the body holds.
        release: (request, options) => store.release(request, options),
      });
      let bodyTick: Date | null = null;
      const job = uniqueJob('stale-control');
      const handler = middy(
        leaseGuarded({ job, store: trusting, ...quiet() }, async (_event, context) => {
          bodyTick = context.lease.tick;
          bodyTick?.setTime(bodyTick.getTime() + 24 * 60 * 60_000);
          await store.forceRelease(job);
          return 'done';
        }),
      );
      await handler(schedulerEvent(currentTick(-1)), lambdaContext());
      await store.release({ job, holder: 'stale', fence: 1, outcome: 'success', tick: bodyTick });
      expect(await handler(schedulerEvent(currentTick()), lambdaContext())).toMatchObject({ reason: 'tick-done' });
    });
  });

  describe('4. an unanswered claim', () => {
    async function unanswered(withdrawable: boolean) {
      const job = uniqueJob(`unanswered-${withdrawable}`);
      const executor = faultyExecutor(raw);
      const inner = createSqlLeaseStore({ executor });
      const guardStore = withdrawable
        ? inner
        : storeWith(inner, {
            withdraw: () => Promise.reject(Object.assign(new Error('down'), { retryable: true })),
          });
      const seen = captureObservability();
      const handler = middy(
        leaseGuarded(
          {
            job,
            store: guardStore,
            retry: { budgetMs: 400, baseDelayMs: 10, maxDelayMs: 50, attemptTimeoutMs: 200 },
            logger: seen.logger,
            metrics: seen.metrics,
          },
          async () => 'ran',
        ),
      );
      // The job has run before (its row exists).
      expect(await handler(schedulerEvent(currentTick(-2)), lambdaContext())).toBe('ran');
      // Every claim commits and loses its answer until the budget runs out.
      executor.plan({ match: /LAST_INSERT_ID/, times: 1_000, when: 'after-commit' });
      await expect(handler(schedulerEvent(currentTick(-1)), lambdaContext())).rejects.toBeInstanceOf(
        LeaseUnavailableError,
      );
      executor.plan({ times: 0, when: 'before' });
      const next = await handler(schedulerEvent(currentTick()), lambdaContext());
      return { next, seen, row: await store.inspect(job) };
    }

    it('withdraws its own claim: the job is free and the next tick runs at once', async () => {
      const { next, row } = await unanswered(true);
      expect(next).toBe('ran');
      expect(row).toMatchObject({ runs: 2, holder: null });
    });

    it('negative control: a claim that cannot be withdrawn blocks the job, and the skip says so at WARN', async () => {
      const { next, seen } = await unanswered(false);
      expect(next).toMatchObject({ status: 'skipped', reason: 'held' });
      expect(seen.lines.find((line) => line.fields.heldByUnconfirmedClaim)).toMatchObject({ level: 'warn' });
      expect(seen.points.map((point) => point.name)).toContain(METRICS.skippedUnconfirmed);
    });
  });
});
