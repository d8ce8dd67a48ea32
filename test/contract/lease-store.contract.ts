import { afterAll, beforeAll, describe, expect, it as vitestIt } from 'vitest';
import { LeaseGuardConfigError } from '../../src/errors.js';
import { type LeaseStore, SkipReason } from '../../src/lease/lease-store.js';
import type { SqlExecutor } from '../../src/sql/executor.js';
import { until } from '../support/until.js';
import { fuzzLease } from './fuzz.js';

export interface ContractHarness {
  readonly store: LeaseStore;
  /** Raw access to the same table, for the cases that set up or check rows directly (SQL stores). */
  readonly executor?: SqlExecutor;
  readonly table?: string;
  close(): Promise<void>;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** A lease that must still be held a few round trips later, on a loaded machine too. */
const SURVIVES_MS = 2000;
/** A hang bound for the fuzz (thousands of claims; over the Data API minutes on a loaded machine). */
const FUZZ_TIMEOUT_MS = 300_000;
let sequence = 0;

/**
 * The contract every lease store passes, whatever executor or driver is under it. Ported from
 * ShedLock's lock-provider, storage and fuzz suites and client-go's acquire/renew table, plus the
 * per-tick, affinity and fencing cases only lease-guard has.
 */
export function describeLeaseStoreContract(
  name: string,
  makeHarness: () => Promise<ContractHarness>,
  {
    storage = 'sql',
    mustFail = [],
    fuzzRunsPerWorker = 100,
  }: {
    storage?: 'sql' | 'memory';
    /** For a negative control: the cases that must fail against this (broken) store. */
    mustFail?: readonly string[];
    /** The fuzz's size: bodies per worker (worker 0 runs a tenth). */
    fuzzRunsPerWorker?: number;
  } = {},
): void {
  describe(`lease store contract: ${name}`, () => {
    // Every case below goes through this `it`: a case named in mustFail passes only if it fails.
    const seen = new Set<string>();
    const it = Object.assign(
      (title: string, fn: () => Promise<void>, timeout?: number) => {
        seen.add(title);
        return (mustFail.includes(title) ? vitestIt.fails : vitestIt)(title, fn, timeout);
      },
      { each: vitestIt.each.bind(vitestIt) },
    );
    if (mustFail.length > 0) {
      vitestIt('names only cases that exist (negative control)', () => {
        expect(mustFail.filter((title) => !seen.has(title))).toEqual([]);
      });
    }
    let harness: ContractHarness;
    let store: LeaseStore;
    // Each case uses its own job, so cases never see each other's rows.
    const job = (label: string): string => `${label}-${++sequence}`;
    const holder = (label: string): string => `${label}:${sequence}:${Math.random().toString(36).slice(2)}`;
    const expired = (j: string) =>
      until(async () => (await store.inspect(j))?.held === false, { what: `${j} to expire` });

    beforeAll(async () => {
      harness = await makeHarness();
      store = harness.store;
    });
    afterAll(async () => {
      await harness?.close();
    });

    describe('mutual exclusion (ShedLock lock provider suite)', () => {
      it('claims a free lease, holds it, and frees it on release', async () => {
        const j = job('create');
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: 5 * MINUTE });
        expect(claim).toEqual({ acquired: true, fence: expect.any(Number) });
        expect((await store.inspect(j))?.held).toBe(true);
        if (!claim.acquired) return;
        expect(await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'success' })).toBe(true);
        expect((await store.inspect(j))?.held).toBe(false);
      });

      it('refuses a second holder while the lease is held', async () => {
        const j = job('second');
        expect((await store.claim({ job: j, holder: holder('a'), leaseMs: 5 * MINUTE })).acquired).toBe(true);
        expect(await store.claim({ job: j, holder: holder('b'), leaseMs: 5 * MINUTE })).toEqual({
          acquired: false,
          reason: SkipReason.HELD,
        });
      });

      it('keeps two jobs independent', async () => {
        const a = await store.claim({ job: job('one'), holder: holder('a'), leaseMs: 5 * MINUTE });
        const b = await store.claim({ job: job('two'), holder: holder('a'), leaseMs: 5 * MINUTE });
        expect([a.acquired, b.acquired]).toEqual([true, true]);
      });

      it('claims, releases, claims and releases again in a row', async () => {
        const j = job('twice');
        for (const label of ['a', 'b']) {
          const h = holder(label);
          const claim = await store.claim({ job: j, holder: h, leaseMs: 5 * MINUTE });
          if (!claim.acquired) throw new Error(`claim ${label} lost: ${claim.reason}`);
          expect(await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'success' })).toBe(true);
        }
      });

      it('refuses a claim right after another, then allows it after release, ten times', async () => {
        const j = job('right-after');
        for (let round = 0; round < 10; round++) {
          const h = holder(`r${round}`);
          const claim = await store.claim({ job: j, holder: h, leaseMs: 5 * MINUTE });
          if (!claim.acquired) throw new Error(`round ${round} lost: ${claim.reason}`);
          expect((await store.claim({ job: j, holder: holder('other'), leaseMs: 5 * MINUTE })).acquired).toBe(false);
          await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'success' });
        }
      });

      it('lets a lease end by itself, then lets another holder claim', async () => {
        const j = job('timeout');
        expect((await store.claim({ job: j, holder: holder('a'), leaseMs: 50 })).acquired).toBe(true);
        await expired(j);
        expect((await store.claim({ job: j, holder: holder('b'), leaseMs: 50 })).acquired).toBe(true);
      });

      it('holds the lease for minHold after a fast successful run (lockAtLeastFor)', async () => {
        const j = job('min-hold');
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: 5 * MINUTE });
        if (!claim.acquired) throw new Error('claim lost');
        await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'success', minHoldMs: SURVIVES_MS });
        expect(await store.claim({ job: j, holder: holder('b'), leaseMs: MINUTE })).toEqual({
          acquired: false,
          reason: SkipReason.HELD,
        });
        await expired(j);
        expect((await store.claim({ job: j, holder: holder('c'), leaseMs: MINUTE })).acquired).toBe(true);
      });

      it('computes the lease end from the database clock, in UTC', async () => {
        const j = job('utc');
        await store.claim({ job: j, holder: holder('a'), leaseMs: MINUTE });
        const state = await store.inspect(j);
        const ahead = state!.leaseUntil.getTime() - state!.dbNow.getTime();
        expect(ahead).toBeGreaterThan(50_000);
        expect(ahead).toBeLessThanOrEqual(60_000);
        // Same machine: the database's UTC now is our UTC now, give or take; an hour off means a zone leaked in.
        expect(Math.abs(state!.dbNow.getTime() - Date.now())).toBeLessThan(10 * MINUTE);
      });
    });

    describe('acquire and renew (client-go tryAcquireOrRenew table)', () => {
      it('creates the row of a job it has never seen and claims it', async () => {
        const j = job('new');
        expect(await store.inspect(j)).toBeUndefined();
        expect(await store.claim({ job: j, holder: holder('a'), leaseMs: MINUTE })).toEqual({
          acquired: true,
          fence: 1,
        });
      });

      it('takes over a lease whose holder let it lapse', async () => {
        const j = job('lapsed');
        await store.claim({ job: j, holder: holder('bing'), leaseMs: 30 });
        await expired(j);
        const claim = await store.claim({ job: j, holder: holder('baz'), leaseMs: MINUTE });
        expect(claim).toEqual({ acquired: true, fence: 2 });
      });

      it('fails against a live holder and leaves it in place', async () => {
        const j = job('live');
        const bing = holder('bing');
        await store.claim({ job: j, holder: bing, leaseMs: MINUTE });
        expect((await store.claim({ job: j, holder: holder('baz'), leaseMs: MINUTE })).acquired).toBe(false);
        expect((await store.inspect(j))?.holder).toBe(bing);
      });

      it('answers a re-issued claim by the same holder with the same lease and fence (idempotent)', async () => {
        const j = job('reissue');
        const h = holder('baz');
        const first = await store.claim({ job: j, holder: h, leaseMs: MINUTE });
        const again = await store.claim({ job: j, holder: h, leaseMs: MINUTE });
        expect(again).toEqual(first);
        expect((await store.inspect(j))?.runs).toBe(1);
      });

      it('renews a live lease without changing the fence', async () => {
        const j = job('renew');
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: SURVIVES_MS });
        if (!claim.acquired) throw new Error('claim lost');
        const before = (await store.inspect(j))!.leaseUntil.getTime();
        expect(await store.renew({ job: j, holder: h, fence: claim.fence, leaseMs: 10 * MINUTE })).toBe(true);
        const after = await store.inspect(j);
        expect(after!.leaseUntil.getTime()).toBeGreaterThan(before + 5 * MINUTE);
        expect(after!.fence).toBe(claim.fence);
      });

      it('refuses to renew after release, after expiry, or with a stale fence', async () => {
        const j = job('renew-refused');
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: MINUTE });
        if (!claim.acquired) throw new Error('claim lost');
        await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'success' });
        expect(await store.renew({ job: j, holder: h, fence: claim.fence, leaseMs: MINUTE })).toBe(false);

        const h2 = holder('b');
        const short = await store.claim({ job: j, holder: h2, leaseMs: 30 });
        if (!short.acquired) throw new Error('claim lost');
        await expired(j);
        expect(await store.renew({ job: j, holder: h2, fence: short.fence, leaseMs: MINUTE })).toBe(false);

        const h3 = holder('c');
        const third = await store.claim({ job: j, holder: h3, leaseMs: MINUTE });
        if (!third.acquired) throw new Error('claim lost');
        expect(await store.renew({ job: j, holder: h3, fence: third.fence - 1, leaseMs: MINUTE })).toBe(false);
      });
    });

    describe('fencing', () => {
      it('hands out strictly increasing fences to successive holders', async () => {
        const j = job('fence');
        const fences: number[] = [];
        for (let i = 0; i < 5; i++) {
          const h = holder(`h${i}`);
          const claim = await store.claim({ job: j, holder: h, leaseMs: MINUTE });
          if (!claim.acquired) throw new Error('claim lost');
          fences.push(claim.fence);
          await store.release({ job: j, holder: h, fence: claim.fence, outcome: i % 2 ? 'failure' : 'success' });
        }
        expect(fences).toEqual([1, 2, 3, 4, 5]);
      });

      it("ignores a stale holder's release after a force release and a new claim", async () => {
        const j = job('stale-release');
        const old = holder('old');
        const first = await store.claim({ job: j, holder: old, leaseMs: MINUTE });
        if (!first.acquired) throw new Error('claim lost');
        expect(await store.forceRelease(j)).toBe(true);
        const fresh = holder('new');
        const second = await store.claim({ job: j, holder: fresh, leaseMs: MINUTE });
        expect(second).toEqual({ acquired: true, fence: first.fence + 2 });
        expect(await store.release({ job: j, holder: old, fence: first.fence, outcome: 'success' })).toBe(false);
        expect(await store.release({ job: j, holder: old, fence: first.fence, outcome: 'failure', error: 'x' })).toBe(
          false,
        );
        const state = await store.inspect(j);
        expect(state).toMatchObject({ holder: fresh, held: true, failures: 0 });
      });

      it('fences out the holder a force release removed, even without a new claim', async () => {
        const j = job('forced');
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: MINUTE });
        if (!claim.acquired) throw new Error('claim lost');
        await store.forceRelease(j);
        expect(await store.renew({ job: j, holder: h, fence: claim.fence, leaseMs: MINUTE })).toBe(false);
        expect((await store.inspect(j))?.fence).toBe(claim.fence + 1);
        expect(await store.forceRelease(job('never-claimed'))).toBe(false);
      });

      it('force-releases a lease keyed on the holder and fence shown while the row still has both', async () => {
        const j = job('forced-shown');
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: MINUTE });
        if (!claim.acquired) throw new Error('claim lost');
        expect(await store.forceRelease({ job: j, holder: h, fence: claim.fence })).toBe(true);
        expect(await store.inspect(j)).toMatchObject({ holder: null, held: false, fence: claim.fence + 1 });
        expect(await store.forceRelease({ job: job('never-claimed'), holder: null, fence: 0 })).toBe(false);
      });

      it('refuses a keyed force release when the holder shown finished and another claimed', async () => {
        const j = job('forced-changed');
        const a = holder('a');
        const first = await store.claim({ job: j, holder: a, leaseMs: MINUTE });
        if (!first.acquired) throw new Error('claim lost');
        await store.release({ job: j, holder: a, fence: first.fence, outcome: 'success' });
        // A finished: the row has no holder and A's fence; the operator's view of A is out of date.
        expect(await store.forceRelease({ job: j, holder: a, fence: first.fence })).toBe(false);
        const b = holder('b');
        const second = await store.claim({ job: j, holder: b, leaseMs: MINUTE });
        if (!second.acquired) throw new Error('claim lost');
        const before = await store.inspect(j);
        expect(await store.forceRelease({ job: j, holder: a, fence: first.fence })).toBe(false);
        expect(await store.inspect(j)).toMatchObject({
          holder: b,
          held: true,
          fence: second.fence,
          leaseUntil: before!.leaseUntil,
          version: before!.version,
        });
        expect(await store.renew({ job: j, holder: b, fence: second.fence, leaseMs: MINUTE })).toBe(true);
      });

      it('refuses a keyed force release when only the fence changed, or the lease shown free was claimed', async () => {
        const j = job('forced-fence');
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: MINUTE });
        if (!claim.acquired) throw new Error('claim lost');
        for (const fence of [claim.fence - 1, claim.fence + 1]) {
          expect(await store.forceRelease({ job: j, holder: h, fence })).toBe(false);
        }
        expect(await store.inspect(j)).toMatchObject({ holder: h, held: true, fence: claim.fence });
        await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'failure' });
        const free = await store.inspect(j);
        const next = holder('b');
        expect((await store.claim({ job: j, holder: next, leaseMs: MINUTE })).acquired).toBe(true);
        expect(await store.forceRelease({ job: j, holder: null, fence: free!.fence })).toBe(false);
        expect(await store.inspect(j)).toMatchObject({ holder: next, held: true, fence: free!.fence + 1 });
      });

      it('bumps the fence of a lease shown free (no holder) while nobody claimed it', async () => {
        const j = job('forced-free');
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: MINUTE });
        if (!claim.acquired) throw new Error('claim lost');
        await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'success', minHoldMs: MINUTE });
        // Kept by minHold: held, with no holder. Keyed on that view, the release frees it.
        expect(await store.inspect(j)).toMatchObject({ holder: null, held: true });
        expect(await store.forceRelease({ job: j, holder: null, fence: claim.fence })).toBe(true);
        expect(await store.inspect(j)).toMatchObject({ holder: null, held: false, fence: claim.fence + 1 });
      });
    });

    describe('once per tick', () => {
      const tickAt = (offsetMs: number): Date => new Date(Math.floor(Date.now() / MINUTE) * MINUTE + offsetMs);

      it('runs the same tick once when it arrives twenty times at once', async () => {
        const j = job('burst');
        const tick = tickAt(0);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.claim({ job: j, holder: holder(`d${i}`), leaseMs: MINUTE, tick })),
        );
        expect(results.filter((r) => r.acquired)).toHaveLength(1);
        expect(results.filter((r) => !r.acquired).map((r) => !r.acquired && r.reason)).toEqual(
          Array(19).fill(SkipReason.HELD),
        );
      });

      it('does not run a tick again after it succeeded', async () => {
        const j = job('seq-dup');
        const tick = tickAt(0);
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: MINUTE, tick });
        if (!claim.acquired) throw new Error('claim lost');
        await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'success' });
        expect(await store.claim({ job: j, holder: holder('b'), leaseMs: MINUTE, tick })).toEqual({
          acquired: false,
          reason: SkipReason.TICK_DONE,
        });
        expect((await store.inspect(j))?.tickDone?.getTime()).toBe(tick.getTime());
      });

      it('runs a tick again after a failed run, and records the failure', async () => {
        const j = job('retry');
        const tick = tickAt(0);
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: MINUTE, tick });
        if (!claim.acquired) throw new Error('claim lost');
        await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'failure', error: 'boom: "quoted" ✓' });
        const retry = await store.claim({ job: j, holder: holder('b'), leaseMs: MINUTE, tick });
        expect(retry).toEqual({ acquired: true, fence: claim.fence + 1 });
        expect(await store.inspect(j)).toMatchObject({
          failures: 1,
          runs: 2,
          lastError: 'boom: "quoted" ✓',
          tickDone: null,
        });
      });

      it('keeps the lease to its end on a failure whose body may still run, leaving the tick open', async () => {
        const j = job('abandoned');
        const tick = tickAt(0);
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: SURVIVES_MS, tick });
        if (!claim.acquired) throw new Error('claim lost');
        expect(
          await store.release({
            job: j,
            holder: h,
            fence: claim.fence,
            outcome: 'failure',
            error: 'timeout',
            keepLease: true,
          }),
        ).toBe(true);
        expect(await store.inspect(j)).toMatchObject({ held: true, holder: null, failures: 1, tickDone: null });
        expect(await store.claim({ job: j, holder: holder('b'), leaseMs: MINUTE, tick })).toEqual({
          acquired: false,
          reason: SkipReason.HELD,
        });
        await expired(j);
        expect(await store.claim({ job: j, holder: holder('c'), leaseMs: MINUTE, tick })).toEqual({
          acquired: true,
          fence: claim.fence + 1,
        });
      });

      it('keeps the lease for keepForMs past a short lease when the body may still run', async () => {
        const j = job('keep-for');
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: 1 });
        if (!claim.acquired) throw new Error('claim lost');
        const released = await store.release({
          job: j,
          holder: h,
          fence: claim.fence,
          outcome: 'failure',
          error: 'abandoned',
          keepLease: true,
          keepForMs: HOUR,
        });
        expect(released).toBe(true);
        const state = await store.inspect(j);
        expect(state).toMatchObject({ held: true, holder: null, failures: 1 });
        expect(state!.leaseUntil.getTime() - state!.dbNow.getTime()).toBeGreaterThan(HOUR - MINUTE);
      });

      it('stores a long error text bounded, not failing the release', async () => {
        const j = job('long-error');
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: MINUTE });
        if (!claim.acquired) throw new Error('claim lost');
        expect(
          await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'failure', error: 'e'.repeat(50_000) }),
        ).toBe(true);
        expect((await store.inspect(j))?.lastError?.length).toBeLessThanOrEqual(1000);
      });

      it('refuses a stale tick (a late retry or a replay) on the database clock', async () => {
        const j = job('stale');
        expect(
          await store.claim({
            job: j,
            holder: holder('a'),
            leaseMs: MINUTE,
            tick: tickAt(-2 * HOUR),
            maxTickAgeMs: HOUR,
          }),
        ).toEqual({ acquired: false, reason: SkipReason.STALE_TICK });
        expect(
          (
            await store.claim({
              job: j,
              holder: holder('a'),
              leaseMs: MINUTE,
              tick: tickAt(-2 * HOUR),
              maxTickAgeMs: 3 * HOUR,
            })
          ).acquired,
        ).toBe(true);
      });

      it('refuses a tick too far in the future (forged or skewed)', async () => {
        const j = job('future');
        expect(
          await store.claim({
            job: j,
            holder: holder('a'),
            leaseMs: MINUTE,
            tick: tickAt(HOUR),
            maxTickAheadMs: 5 * MINUTE,
          }),
        ).toEqual({ acquired: false, reason: SkipReason.FUTURE_TICK });
        // The refused future tick left no trace that could block the real ticks before it.
        expect(await store.claim({ job: j, holder: holder('b'), leaseMs: MINUTE, tick: tickAt(0) })).toMatchObject({
          acquired: true,
        });
      });

      it('refuses an out-of-order tick older than the last completed one', async () => {
        const j = job('order');
        const later = holder('later');
        const claim = await store.claim({ job: j, holder: later, leaseMs: MINUTE, tick: tickAt(0) });
        if (!claim.acquired) throw new Error('claim lost');
        await store.release({ job: j, holder: later, fence: claim.fence, outcome: 'success' });
        expect(
          await store.claim({ job: j, holder: holder('earlier'), leaseMs: MINUTE, tick: tickAt(-MINUTE) }),
        ).toEqual({
          acquired: false,
          reason: SkipReason.TICK_DONE,
        });
        expect(
          (
            await store.claim({
              job: j,
              holder: holder('next'),
              leaseMs: MINUTE,
              tick: tickAt(MINUTE),
              maxTickAheadMs: 2 * MINUTE,
            })
          ).acquired,
        ).toBe(true);
      });

      it('refuses a newer tick while an older one still runs (never two at once)', async () => {
        const j = job('overlap');
        await store.claim({ job: j, holder: holder('a'), leaseMs: MINUTE, tick: tickAt(0) });
        expect(
          await store.claim({
            job: j,
            holder: holder('b'),
            leaseMs: MINUTE,
            tick: tickAt(MINUTE),
            maxTickAheadMs: 2 * MINUTE,
          }),
        ).toEqual({
          acquired: false,
          reason: SkipReason.HELD,
        });
      });
    });

    describe('edges: lost answers and stale holders (issue 14)', () => {
      const tickAt = (offsetMs: number): Date => new Date(Math.floor(Date.now() / MINUTE) * MINUTE + offsetMs);

      it('answers a success release re-issued after it landed as released, and changes nothing that matters', async () => {
        const j = job('release-twice');
        const h = holder('a');
        const tick = tickAt(0);
        const claim = await store.claim({ job: j, holder: h, leaseMs: MINUTE, tick });
        if (!claim.acquired) throw new Error('claim lost');
        const release = { job: j, holder: h, fence: claim.fence, outcome: 'success', tick } as const;
        expect(await store.release(release)).toBe(true);
        const first = await store.inspect(j);
        expect(await store.release(release)).toBe(true);
        expect(await store.inspect(j)).toMatchObject({
          held: false,
          holder: null,
          fence: claim.fence,
          runs: first!.runs,
          tickDone: tick,
        });
      });

      it('no longer answers released for that fence once another holder claimed', async () => {
        const j = job('release-after-next');
        const h = holder('a');
        const claim = await store.claim({ job: j, holder: h, leaseMs: MINUTE });
        if (!claim.acquired) throw new Error('claim lost');
        await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'success' });
        const next = holder('b');
        expect((await store.claim({ job: j, holder: next, leaseMs: MINUTE })).acquired).toBe(true);
        expect(await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'success' })).toBe(false);
        expect(await store.inspect(j)).toMatchObject({ holder: next, held: true });
      });

      it("counts a force-released holder's successful tick as done, and changes nothing else", async () => {
        const j = job('stale-success');
        const h = holder('old');
        const tick = tickAt(0);
        const claim = await store.claim({ job: j, holder: h, leaseMs: MINUTE, tick });
        if (!claim.acquired) throw new Error('claim lost');
        await store.forceRelease(j);
        const before = await store.inspect(j);
        expect(await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'success', tick })).toBe(false);
        const after = await store.inspect(j);
        expect(after).toMatchObject({
          tickDone: tick,
          fence: before!.fence,
          holder: null,
          leaseUntil: before!.leaseUntil,
          failures: 0,
          runs: before!.runs,
        });
        expect(await store.claim({ job: j, holder: holder('dup'), leaseMs: MINUTE, tick })).toEqual({
          acquired: false,
          reason: SkipReason.TICK_DONE,
        });
      });

      it("never moves the mark back for a stale holder's older tick, nor touches the new holder's lease", async () => {
        const j = job('stale-older');
        const old = holder('old');
        const older = tickAt(-MINUTE);
        const first = await store.claim({ job: j, holder: old, leaseMs: MINUTE, tick: older });
        if (!first.acquired) throw new Error('claim lost');
        await store.forceRelease(j);
        const fresh = holder('new');
        const newer = tickAt(0);
        const second = await store.claim({ job: j, holder: fresh, leaseMs: MINUTE, tick: newer });
        if (!second.acquired) throw new Error('claim lost');
        await store.release({ job: j, holder: fresh, fence: second.fence, outcome: 'success', tick: newer });
        const third = holder('third');
        const running = await store.claim({ job: j, holder: third, leaseMs: MINUTE });
        if (!running.acquired) throw new Error('claim lost');
        const before = await store.inspect(j);
        expect(await store.release({ job: j, holder: old, fence: first.fence, outcome: 'success', tick: older })).toBe(
          false,
        );
        expect(await store.inspect(j)).toMatchObject({
          tickDone: newer,
          holder: third,
          held: true,
          fence: before!.fence,
          leaseUntil: before!.leaseUntil,
        });
      });

      it('refuses a live lease held by another attempt of the same invocation with its own reason', async () => {
        const j = job('same-invocation');
        const invocation = `us-east-1/fn/req-${sequence}`;
        const tick = tickAt(0);
        expect(
          (await store.claim({ job: j, holder: `aaaaaa/${invocation}`, invocation, leaseMs: MINUTE, tick })).acquired,
        ).toBe(true);
        expect(
          await store.claim({ job: j, holder: `bbbbbb/${invocation}`, invocation, leaseMs: MINUTE, tick }),
        ).toEqual({ acquired: false, reason: SkipReason.SAME_INVOCATION });
        // Another invocation, and the same one without saying so, see an ordinary held lease.
        const other = `us-east-1/fn/other-${sequence}`;
        expect(
          await store.claim({ job: j, holder: `cccccc/${other}`, invocation: other, leaseMs: MINUTE, tick }),
        ).toEqual({ acquired: false, reason: SkipReason.HELD });
        expect(await store.claim({ job: j, holder: `dddddd/${invocation}`, leaseMs: MINUTE, tick })).toEqual({
          acquired: false,
          reason: SkipReason.HELD,
        });
        // The holder's own re-issue still wins (an ambiguous claim settles itself).
        expect(
          (await store.claim({ job: j, holder: `aaaaaa/${invocation}`, invocation, leaseMs: MINUTE, tick })).acquired,
        ).toBe(true);
      });

      it('lets a later attempt of the same invocation claim once that lease ended', async () => {
        const j = job('same-invocation-ended');
        const invocation = `us-east-1/fn/req-${sequence}`;
        await store.claim({ job: j, holder: `aaaaaa/${invocation}`, invocation, leaseMs: 30 });
        await expired(j);
        expect(
          (await store.claim({ job: j, holder: `bbbbbb/${invocation}`, invocation, leaseMs: MINUTE })).acquired,
        ).toBe(true);
      });

      it('withdraws a claim whose answer never came: frees the lease and takes its run back', async () => {
        const j = job('withdraw');
        const h = holder('lost-answer');
        const claim = await store.claim({ job: j, holder: h, leaseMs: HOUR });
        if (!claim.acquired) throw new Error('claim lost');
        const before = await store.inspect(j);
        expect(await store.withdraw({ job: j, holder: h })).toBe(true);
        expect(await store.inspect(j)).toMatchObject({ held: false, holder: null, runs: before!.runs - 1 });
        // Idempotent, and nobody else's lease is touched.
        expect(await store.withdraw({ job: j, holder: h })).toBe(false);
        const next = await store.claim({ job: j, holder: holder('next'), leaseMs: HOUR });
        expect(next).toEqual({ acquired: true, fence: claim.fence + 1 });
        expect(await store.withdraw({ job: j, holder: h })).toBe(false);
        expect(await store.inspect(j)).toMatchObject({ held: true, fence: claim.fence + 1 });
      });

      it('rejects an invocation the holder does not end with', async () => {
        await expect(
          store.claim({ job: job('bad-invocation'), holder: 'aaaaaa/x/y', invocation: 'z', leaseMs: MINUTE }),
        ).rejects.toThrow(LeaseGuardConfigError);
      });
    });

    describe('affinity', () => {
      it('keeps the owner, makes others standby, and fails over only after failoverAfter', async () => {
        const j = job('affinity');
        const claimAs = (owner: string, failoverAfterMs: number) =>
          store.claim({ job: j, holder: holder(owner), leaseMs: MINUTE, owner, failoverAfterMs });
        const runAs = async (owner: string, failoverAfterMs: number) => {
          const claim = await claimAs(owner, failoverAfterMs);
          if (claim.acquired) {
            const h = (await store.inspect(j))!.holder!;
            await store.release({ job: j, holder: h, fence: claim.fence, outcome: 'success' });
          }
          return claim;
        };
        expect((await runAs('us-east-1', MINUTE)).acquired).toBe(true);
        expect(await runAs('eu-west-1', MINUTE)).toEqual({ acquired: false, reason: SkipReason.STANDBY });
        expect((await runAs('us-east-1', MINUTE)).acquired).toBe(true);
        // The owner goes quiet; the standby takes over once failoverAfter has passed on the database clock.
        await until(
          async () => {
            const s = (await store.inspect(j))!;
            return s.dbNow.getTime() - s.ownerSeen!.getTime() > 150;
          },
          { what: 'failoverAfter to pass' },
        );
        expect((await runAs('eu-west-1', 100)).acquired).toBe(true);
        expect((await store.inspect(j))?.owner).toBe('eu-west-1');
        expect(await runAs('us-east-1', MINUTE)).toEqual({ acquired: false, reason: SkipReason.STANDBY });
      });

      it('still excludes a second invocation of the owner while the first runs', async () => {
        const j = job('affinity-mutex');
        await store.claim({ job: j, holder: holder('a'), leaseMs: MINUTE, owner: 'us-east-1' });
        expect(await store.claim({ job: j, holder: holder('b'), leaseMs: MINUTE, owner: 'us-east-1' })).toEqual({
          acquired: false,
          reason: SkipReason.HELD,
        });
      });
    });

    describe('bad input', () => {
      const hostile = ['', 'x'.repeat(129), 'jöb', "job'; DROP TABLE lease_guard; --", 'a b', '`job`', 'job\n', '-job'];

      it.each(hostile)('throws a config error for the job name %j and writes nothing', async (name) => {
        const before = (await store.list()).length;
        await expect(store.claim({ job: name, holder: holder('a'), leaseMs: MINUTE })).rejects.toThrow(
          LeaseGuardConfigError,
        );
        await expect(store.inspect(name)).rejects.toThrow(LeaseGuardConfigError);
        await expect(store.forceRelease(name)).rejects.toThrow(LeaseGuardConfigError);
        await expect(store.forceRelease({ job: name, holder: null, fence: 0 })).rejects.toThrow(LeaseGuardConfigError);
        expect((await store.list()).length).toBe(before);
      });

      it('throws config errors for bad holders, durations, ticks and fences', async () => {
        const j = job('bad');
        await expect(store.claim({ job: j, holder: '', leaseMs: MINUTE })).rejects.toThrow(/holder/);
        await expect(store.claim({ job: j, holder: 'h', leaseMs: 0 })).rejects.toThrow(/leaseMs/);
        await expect(store.claim({ job: j, holder: 'h', leaseMs: Number.NaN })).rejects.toThrow(/leaseMs/);
        await expect(store.claim({ job: j, holder: 'h', leaseMs: MINUTE, tick: new Date('nope') })).rejects.toThrow(
          /tick/,
        );
        await expect(store.claim({ job: j, holder: 'h', leaseMs: MINUTE, owner: 'us east' })).rejects.toThrow(/owner/);
        await expect(store.release({ job: j, holder: 'h', fence: 0, outcome: 'success' })).rejects.toThrow(/fence/);
        await expect(store.forceRelease({ job: j, holder: 'h', fence: -1 })).rejects.toThrow(/fence/);
        expect(await store.inspect(j)).toBeUndefined();
      });

      it('accepts the widest valid job name unchanged', async () => {
        const j = `A.b_c:d/e-${'z'.repeat(100)}${++sequence}`.slice(0, 128);
        expect((await store.claim({ job: j, holder: holder('a'), leaseMs: MINUTE })).acquired).toBe(true);
        expect((await store.inspect(j))?.job).toBe(j);
      });
    });

    describe('fuzz (ShedLock FuzzTester)', () => {
      it(
        'loses no update of a non-atomic counter with 8 workers on 2 jobs',
        async () => {
          const prefix = job('fuzz');
          const runs = fuzzRunsPerWorker;
          const result = await fuzzLease(store, { jobPrefix: prefix, runsPerWorker: runs });
          expect(result.overlaps).toBe(0);
          expect(result.counters).toEqual(result.expected);
          // Job a: worker 0's short task and workers 2, 4, 6; job b: workers 1, 3, 5, 7.
          expect(result.expected).toEqual({
            [`${prefix}-a`]: Math.ceil(runs / 10) + 3 * runs,
            [`${prefix}-b`]: 4 * runs,
          });
        },
        FUZZ_TIMEOUT_MS,
      );
    });

    if (storage === 'sql') {
      describe('storage (SQL stores)', () => {
        const sql = () => {
          if (!harness.executor || !harness.table) throw new Error('this harness has no raw SQL access');
          return { executor: harness.executor, table: harness.table };
        };
        const rowOf = async (j: string) => {
          const { executor, table } = sql();
          return (await executor.execute({ sql: `SELECT * FROM \`${table}\` WHERE job = :job`, params: { job: j } }))
            .rows[0];
        };

        it('claims a row left by an old run whose lease ended a day ago', async () => {
          const { executor, table } = sql();
          const j = job('old-row');
          await executor.execute({
            sql: `INSERT INTO \`${table}\` (job, holder, fence, lease_until, claimed_at, created_at) VALUES (:job, 'me', 7, UTC_TIMESTAMP(6) - INTERVAL 1 DAY, UTC_TIMESTAMP(6) - INTERVAL 1 DAY, UTC_TIMESTAMP(6))`,
            params: { job: j },
          });
          expect(await store.claim({ job: j, holder: holder('a'), leaseMs: MINUTE })).toEqual({
            acquired: true,
            fence: 8,
          });
        });

        it('heals a deleted row on the next claim', async () => {
          const { executor, table } = sql();
          const j = job('deleted');
          const a = holder('a');
          const first = await store.claim({ job: j, holder: a, leaseMs: MINUTE });
          if (!first.acquired) throw new Error('claim lost');
          await store.release({ job: j, holder: a, fence: first.fence, outcome: 'success' });
          const old = holder('old');
          const stale = await store.claim({ job: j, holder: old, leaseMs: MINUTE });
          if (!stale.acquired) throw new Error('claim lost');
          await executor.execute({ sql: `DELETE FROM \`${table}\` WHERE job = :job`, params: { job: j } });
          const b = holder('b');
          const healed = await store.claim({ job: j, holder: b, leaseMs: MINUTE });
          // The documented cost of deleting a row: the fence starts again from 1.
          expect(healed).toEqual({ acquired: true, fence: 1 });
          // The holder from before the delete is fenced out of the healed row: no renew, no release.
          expect(await store.renew({ job: j, holder: old, fence: stale.fence, leaseMs: MINUTE })).toBe(false);
          expect(await store.release({ job: j, holder: old, fence: stale.fence, outcome: 'success' })).toBe(false);
          expect(await store.inspect(j)).toMatchObject({ held: true, holder: b, fence: 1 });
        });

        it("touches only its own job's row", async () => {
          const mine = job('mine');
          const other = job('other');
          await store.claim({ job: other, holder: holder('o'), leaseMs: 30 });
          const before = await rowOf(other);
          const h = holder('m');
          const claim = await store.claim({ job: mine, holder: h, leaseMs: MINUTE });
          if (!claim.acquired) throw new Error('claim lost');
          await store.renew({ job: mine, holder: h, fence: claim.fence, leaseMs: MINUTE });
          await store.release({ job: mine, holder: h, fence: claim.fence, outcome: 'success' });
          expect(await rowOf(other)).toEqual(before);
        });

        it('keeps a live lease when a second store instance over the same table claims it', async () => {
          const { createSqlLeaseStore } = await import('../../src/lease/sql-lease-store.js');
          const second = createSqlLeaseStore(sql());
          const j = job('instances');
          await store.claim({ job: j, holder: holder('a'), leaseMs: MINUTE });
          expect((await second.claim({ job: j, holder: holder('b'), leaseMs: MINUTE })).acquired).toBe(false);
        });
      });
    }
  });
}
