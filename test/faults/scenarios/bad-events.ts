/**
 * Hostile events, in bulk and property-based: arbitrary JSON, and events shaped like Scheduler's
 * input or a scheduled rule with arbitrary, malformed, stale, far-future or SQL-carrying times,
 * replayed or not. The oracle restates the documented rules: a replay never runs; a tick field
 * that is not an ISO time with a zone is invalid; a tick outside [now − maxTickAge, now +
 * maxTickAhead] on the database clock is stale or future; anything without a tick field is
 * lease-only and runs. The handler never throws, and its fence counts exactly its runs.
 */
import fc from 'fast-check';
import { GuardSkipReason } from '../../../src/guard/types.js';
import { SkipReason } from '../../../src/lease/lease-store.js';
import { quoteTable } from '../../../src/lease/names.js';
import { createSqlLeaseStore } from '../../../src/lease/sql-lease-store.js';
import { countingHandler, localDataApiExecutor } from '../guarded-handler.js';
import { hostileText } from '../hostile.js';
import { compareSnapshots, snapshotLeases } from '../lease-snapshot.js';
import { checkProperty } from '../property.js';
import type { Scenario } from '../scenario.js';

const MINUTE = 60_000;
const MAX_AGE_MS = 60 * MINUTE;
const MAX_AHEAD_MS = 5 * MINUTE;
const GRANULARITY_MS = MINUTE;
/** Valid ticks keep this far from the window's edges, so the two clocks' small offset never decides. */
const EDGE_MS = 2 * MINUTE;
const YEAR = 365 * 24 * 60 * MINUTE;

type Expected =
  | { readonly kind: 'runs' }
  | { readonly kind: 'runs-once-per-tick'; readonly tickMs: number }
  | { readonly kind: 'skips'; readonly reason: string };

interface HostileEvent {
  readonly event: unknown;
  readonly expected: Expected;
}

/** A time as EventBridge writes it, or with a numeric zone offset, both valid. */
function isoAt(ms: number, withOffset: boolean): string {
  if (!withOffset) return new Date(ms).toISOString();
  const shifted = new Date(ms + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
  return shifted;
}

/**
 * A tick time and what the rules make of it, relative to `now` (the database clock). `flooredMs`
 * is the tick the event stands for: a rule's time is floored to the granularity, Scheduler's is not.
 */
function tickTime(
  now: number,
  flooredMs: (ms: number) => number,
): fc.Arbitrary<{ readonly time: unknown; readonly expected: Expected }> {
  return fc.oneof(
    fc
      .tuple(fc.integer({ min: -MAX_AGE_MS + EDGE_MS, max: MAX_AHEAD_MS - EDGE_MS }), fc.boolean())
      .map(([offset, zone]) => ({
        time: isoAt(now + offset, zone),
        expected: { kind: 'runs-once-per-tick', tickMs: flooredMs(now + offset) } as Expected,
      })),
    fc
      .tuple(fc.integer({ min: MAX_AGE_MS + EDGE_MS, max: 900 * YEAR }), fc.boolean())
      .filter(([offset]) => now - offset > Date.UTC(1000, 0, 1))
      .map(([offset, zone]) => ({ time: isoAt(now - offset, zone), expected: skip(SkipReason.STALE_TICK) })),
    fc
      .tuple(fc.integer({ min: MAX_AHEAD_MS + EDGE_MS, max: 7000 * YEAR }), fc.boolean())
      .filter(([offset]) => now + offset < Date.UTC(9999, 0, 1))
      .map(([offset, zone]) => ({ time: isoAt(now + offset, zone), expected: skip(SkipReason.FUTURE_TICK) })),
    fc
      .oneof(
        hostileText(60).filter((text) => !/^\d{4}-\d{2}-\d{2}T/.test(text)),
        fc.constantFrom('2026-11-25T10:00:00', '2026-11-25', '2026-13-45T99:99:99Z', 'yesterday', ''),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.string(), { maxLength: 3 }),
        fc.object({ maxDepth: 1 }),
      )
      .map((time) => ({ time, expected: skip(GuardSkipReason.INVALID_EVENT) })),
  );
}

function skip(reason: string): Expected {
  return { kind: 'skips', reason };
}

/** Arbitrary keys beside the tick's, none of them a tick field or a replay marker. */
const extras = fc.dictionary(
  fc
    .string({ maxLength: 12 })
    .filter((key) => !['scheduledTime', 'replay-name', 'source', 'detail-type', 'time', '__proto__'].includes(key)),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 4 },
);

function hostileEvents(now: number): fc.Arbitrary<HostileEvent> {
  const scheduler = fc
    .tuple(
      tickTime(now, (ms) => ms),
      extras,
    )
    .map(([{ time, expected }, rest]) => ({ event: { ...rest, scheduledTime: time }, expected }));
  const floored = (ms: number) => Math.floor(ms / GRANULARITY_MS) * GRANULARITY_MS;
  const rule = fc.tuple(tickTime(now, floored), extras).map(([{ time, expected }, rest]) => ({
    event: { ...rest, version: '0', source: 'aws.events', 'detail-type': 'Scheduled Event', time },
    expected,
  }));
  const replay = fc
    .tuple(fc.oneof(scheduler, rule), fc.oneof(hostileText(40), fc.jsonValue()))
    .map(([{ event }, name]) => ({
      event: { ...(event as object), 'replay-name': name },
      expected: skip(GuardSkipReason.REPLAY),
    }));
  // No tick field at all (or not an object): lease-only mode, so it runs under the lease.
  const leaseOnly = fc
    .oneof(fc.jsonValue(), extras)
    .filter(
      (event) =>
        typeof event !== 'object' ||
        event === null ||
        Array.isArray(event) ||
        !('scheduledTime' in event || 'replay-name' in event || 'source' in event),
    )
    .map((event) => ({ event, expected: { kind: 'runs' } as Expected }));
  return fc.oneof(scheduler, rule, replay, leaseOnly);
}

export const badEvents: Scenario = {
  name: 'bad-events',
  catalogue: 'L4 D4 D5 (input)',
  proves:
    'Arbitrary and forged events never throw and never run the body when replayed, malformed, stale or from the future; ticks inside the window run at most once each, and the fence counts exactly the runs.',
  async run(context) {
    const { environment } = context;
    const job = `bad-events-${context.runId}`;
    const executor = localDataApiExecutor(environment);
    const handler = countingHandler({
      job,
      executor,
      table: environment.table,
      maxTickAgeMs: MAX_AGE_MS,
      maxTickAheadMs: MAX_AHEAD_MS,
      tickGranularityMs: GRANULARITY_MS,
    });
    const store = createSqlLeaseStore({ executor: environment.executor, table: environment.table });
    const before = await snapshotLeases(environment.executor, environment.table);
    const now = (await environment.databaseNow()).getTime();
    let invocations = 0;
    // Ticks that ran: the same tick running again is the double run this scenario exists to catch.
    const ran = new Set<number>();
    try {
      const run = await checkProperty(
        { invariant: 'event', job },
        hostileEvents(now),
        async ({ event, expected }) => {
          invocations++;
          let result: Awaited<ReturnType<typeof handler.invoke>>;
          try {
            result = await handler.invoke(event);
          } catch (error) {
            return `the handler threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
          }
          const got = 'ran' in result ? 'ran' : `skipped (${result.reason})`;
          if (expected.kind === 'skips')
            return got === `skipped (${expected.reason})` ? null : `expected a ${expected.reason} skip, ${got}`;
          if (expected.kind === 'runs') return got === 'ran' ? null : `a lease-only event ${got}`;
          // A valid tick runs once, unless a later tick already completed (the high-water mark).
          if (got === `skipped (${SkipReason.TICK_DONE})`) return null;
          if (got !== 'ran') return `a tick inside the window ${got}`;
          if (ran.has(expected.tickMs)) return `tick ${new Date(expected.tickMs).toISOString()} ran a second time`;
          ran.add(expected.tickMs);
          return null;
        },
        { seed: context.seed, numRuns: context.profile === 'quick' ? 150 : 600 },
      );
      const state = await store.inspect(job);
      const violations = [...run.violations];
      if (state && state.fence !== handler.runs) {
        violations.push({ invariant: 'fence', job, message: `the fence is ${state.fence} after ${handler.runs} runs` });
      }
      const after = await snapshotLeases(environment.executor, environment.table);
      violations.push(...compareSnapshots(before, after, (name) => name === job));
      return {
        faults: run.tried,
        invocations,
        runs: handler.runs,
        violations,
        notes: [`${run.tried} hostile events; ${handler.runs} ran, the fence is ${state?.fence ?? 0}`],
      };
    } finally {
      await environment.executor.execute({
        sql: `DELETE FROM ${quoteTable(environment.table)} WHERE job = :job`,
        params: { job },
      });
      await executor.close();
    }
  },
};
