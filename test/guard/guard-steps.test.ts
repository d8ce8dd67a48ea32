import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS, LEASE_ENV, METRICS } from '../../src/constants.js';
import { LeaseGuardConfigError, LeaseStoreError, LeaseUnavailableError, StoreErrorKind } from '../../src/errors.js';
import {
  claimBudget,
  claimVerdict,
  createEngine,
  errorMessage,
  leaseLength,
  releaseBudget,
} from '../../src/guard/engine.js';
import { ExecutionModel } from '../../src/guard/execution.js';
import { parseLeaseGuardOptions } from '../../src/guard/options.js';
import { type LeaseStore, SkipReason } from '../../src/lease/lease-store.js';
import { MemoryLeaseStore } from '../../src/testing/memory-store.js';
import { captureObservability } from '../fixtures/observe.js';

const options = (extra: Record<string, unknown> = {}) => parseLeaseGuardOptions({ job: 'steps', ...extra });

describe('the guard in small steps', () => {
  afterEach(() => {
    delete process.env[LEASE_ENV.JOB];
    delete process.env[LEASE_ENV.REQUIRE_TICK];
  });

  it('takes the job from LEASE_GUARD_JOB when the option is absent, refuses a different one, and names both when neither is there', () => {
    expect(() => parseLeaseGuardOptions({})).toThrow(LeaseGuardConfigError);
    expect(() => parseLeaseGuardOptions({})).toThrow(/LEASE_GUARD_JOB/);
    process.env[LEASE_ENV.JOB] = 'from-env';
    expect(parseLeaseGuardOptions({}).job).toBe('from-env');
    expect(parseLeaseGuardOptions({ job: 'from-env' }).job).toBe('from-env');
    // A handler's job that differs from the construct's would run unwatched by its alarms.
    expect(() => parseLeaseGuardOptions({ job: 'given' })).toThrow(
      /job is "given" but LEASE_GUARD_JOB is "from-env".*Leave the job option out/,
    );
    process.env[LEASE_ENV.JOB] = 'bad name';
    expect(() => parseLeaseGuardOptions({})).toThrow(/LEASE_GUARD_JOB/);
  });

  it('takes requireTick from LEASE_GUARD_REQUIRE_TICK (set by GuardedSchedule) unless the option says otherwise', () => {
    process.env[LEASE_ENV.REQUIRE_TICK] = 'true';
    expect(options().requireTick).toBe(true);
    expect(options({ requireTick: false }).requireTick).toBe(false);
    process.env[LEASE_ENV.REQUIRE_TICK] = 'false';
    expect(options().requireTick).toBe(false);
    expect(options({ requireTick: true }).requireTick).toBe(true);
    process.env[LEASE_ENV.REQUIRE_TICK] = 'yes';
    expect(() => options()).toThrow(/LEASE_GUARD_REQUIRE_TICK must be true or false/);
  });

  it('validates requireTick and the retry delays together', () => {
    expect(options().requireTick).toBe(false);
    expect(() => options({ requireTick: 'yes' })).toThrow(/requireTick/);
    expect(() => options({ retry: { baseDelayMs: 500, maxDelayMs: 100 } })).toThrow(/retry.baseDelayMs/);
    expect(options().retry).toEqual(DEFAULTS.retry);
    expect(options().maxTickAheadMs).toBe(30_000);
  });

  it('computes the lease length: fixed, or remaining time plus margin, capped', () => {
    expect(leaseLength(options(), 5000)).toBe(5000 + DEFAULTS.leaseMarginMs);
    expect(leaseLength(options(), undefined)).toBe(DEFAULTS.maxLeaseMs);
    expect(leaseLength(options(), 10 * 60 * 60_000)).toBe(DEFAULTS.maxLeaseMs);
    expect(leaseLength(options({ leaseMs: 1234 }), 5000)).toBe(1234);
    expect(leaseLength(options(), 5000, 99)).toBe(99);
  });

  it('bounds the claim budget by the remaining time less the reserve, and the release by the deadline', () => {
    expect(claimBudget(options(), undefined)).toBe(DEFAULTS.retry.budgetMs);
    expect(claimBudget(options(), 3000)).toBe(3000 - DEFAULTS.retry.reserveMs);
    expect(claimBudget(options(), 500)).toBe(0);
    expect(releaseBudget(options(), undefined, 0)).toBe(DEFAULTS.retry.budgetMs);
    expect(releaseBudget(options(), 10_000, 4000)).toBe(6000 - DEFAULTS.answerReserveMs);
    expect(releaseBudget(options(), 10_000, 10_000)).toBe(1);
  });

  it('turns a same-invocation refusal into a failure, never a skip, even with onUnavailable skip', () => {
    const decided = (reason: SkipReason) =>
      ({ kind: 'decided', result: { acquired: false, reason }, attempts: 1, latencyMs: 1, sentAt: 0 }) as const;
    expect(claimVerdict(decided(SkipReason.SAME_INVOCATION), 'skip')).toMatchObject({ kind: 'fail' });
    expect(claimVerdict(decided(SkipReason.HELD), 'throw')).toEqual({ kind: 'skip', reason: 'held' });
    const error = new LeaseStoreError('x', { kind: StoreErrorKind.TRANSIENT, code: 'X' });
    const unavailable = { kind: 'unavailable', error, attempts: 2, latencyMs: 5 } as const;
    expect(claimVerdict(unavailable, 'skip')).toEqual({ kind: 'skip', reason: 'unavailable' });
    expect(claimVerdict(unavailable, 'throw')).toMatchObject({ kind: 'fail', cause: error });
  });

  it('turns any thrown value into text, even one without a prototype or with a throwing getter', () => {
    expect(errorMessage(Object.create(null))).toMatch(/cannot be turned into text/);
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('no');
        },
        getPrototypeOf() {
          throw new Error('no');
        },
      },
    );
    expect(typeof errorMessage(hostile)).toBe('string');
  });
});

describe('the guard over the in-memory store', () => {
  const guardWith = (extra: Record<string, unknown> = {}) => {
    const seen = captureObservability();
    const store = (extra.store as LeaseStore | undefined) ?? new MemoryLeaseStore();
    const guard = createEngine(
      parseLeaseGuardOptions({ job: 'mem', store, logger: seen.logger, metrics: seen.metrics, ...extra }),
      { model: ExecutionModel.LAMBDA },
    );
    return { guard, store, seen };
  };
  const scheduled = (date: Date) => ({ scheduledTime: date.toISOString() });
  /** The Lambda context fields the engine reads. */
  const context = (awsRequestId?: string, remainingMs?: number, functionName?: string) => ({
    awsRequestId,
    functionName,
    getRemainingTimeInMillis: remainingMs === undefined ? undefined : () => remainingMs,
  });
  const thisMinute = () => new Date(Math.floor(Date.now() / 60_000) * 60_000);

  it('refuses an event without a tick under requireTick, and warns about a wrapped one otherwise', async () => {
    const strict = guardWith({ requireTick: true });
    const wrapped = { detail: { scheduledTime: thisMinute().toISOString() } };
    expect(await strict.guard.begin({ event: wrapped })).toMatchObject({ skipped: { reason: 'no-tick' } });
    const lenient = guardWith();
    expect(await lenient.guard.begin({ event: wrapped })).toHaveProperty('run');
    expect(lenient.seen.lines.find((line) => line.level === 'warn')?.message).toMatch(/detail\.scheduledTime/);
    expect(await lenient.guard.begin({ event: { nothing: 'here' }, context: context('r2') })).toMatchObject({
      skipped: { reason: 'held' },
    });
    expect(lenient.seen.lines.filter((line) => line.level === 'warn')).toHaveLength(1);
  });

  it('runs other EventBridge events lease-only without a warning (every envelope has a time)', async () => {
    const { guard, seen } = guardWith();
    const order = { source: 'shop.orders', 'detail-type': 'Order Placed', time: new Date().toISOString(), detail: {} };
    expect(await guard.begin({ event: order })).toHaveProperty('run');
    expect(seen.lines.filter((line) => line.level === 'warn')).toHaveLength(0);
  });

  it('fails a retry of the same request while its earlier attempt holds the lease', async () => {
    const { guard } = guardWith({ onUnavailable: 'skip' });
    const event = scheduled(thisMinute());
    expect(await guard.begin({ event, context: context('req-1', 5000, 'fn') })).toHaveProperty('run');
    await expect(guard.begin({ event, context: context('req-1', 5000, 'fn') })).rejects.toBeInstanceOf(
      LeaseUnavailableError,
    );
    expect(await guard.begin({ event, context: context('req-2', 5000, 'fn') })).toMatchObject({
      skipped: { reason: 'held' },
    });
  });

  it('never throws from finish, and releases a body that threw Object.create(null)', async () => {
    const { guard, store } = guardWith();
    const decision = await guard.begin({ event: {} });
    if (!('run' in decision)) throw new Error('claim lost');
    await expect(decision.run.settle({ ok: false, error: Object.create(null) })).resolves.toBeUndefined();
    expect(await store.inspect('mem')).toMatchObject({ held: false, failures: 1 });
  });

  it('keeps the lease and reports at ERROR with CompletionNotRecorded when the success cannot be recorded', async () => {
    const store = new MemoryLeaseStore();
    const down: LeaseStore = {
      claim: (request) => store.claim(request),
      release: () =>
        Promise.reject(new LeaseStoreError('down', { kind: StoreErrorKind.TRANSIENT, code: 'Down', ambiguous: true })),
      renew: (request) => store.renew(request),
      withdraw: (request) => store.withdraw(request),
      inspect: (job) => store.inspect(job),
      list: () => store.list(),
      forceRelease: (job) => store.forceRelease(job),
    };
    const { guard, seen } = guardWith({ store: down, releaseTimeoutMs: 20 });
    const decision = await guard.begin({ event: scheduled(thisMinute()), context: context('r1', 600) });
    if (!('run' in decision)) throw new Error('claim lost');
    await decision.run.settle({ ok: true });
    expect(await store.inspect('mem')).toMatchObject({ held: true, tickDone: null });
    expect(seen.lines.at(-1)).toMatchObject({ level: 'error', fields: { completionNotRecorded: true } });
    expect(seen.points.map((point) => point.name)).toContain(METRICS.completionNotRecorded);
    expect(seen.lines.at(-1)?.fields.releaseAttempts).toBeGreaterThan(1);
  });
});
