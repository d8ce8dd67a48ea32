/**
 * L2, B5 and T5 for `withLease` (the renewing lease for plain Node processes), through the real
 * SDK and the local Data API:
 * - Renew vs takeover: a holder renews while a contender polls. No takeover while renewals
 *   succeed; once the renewals hang (the Data API never answers them), the holder's signal must
 *   abort before the contender can win, and the contender must win within a lease of the last
 *   renewal.
 * - Leftover timers: once `withLease` returns, no renewal of that run may reach the database
 *   while the next run holds a lease (what a Lambda freeze would carry into the next invocation).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { observerNow } from '../../../src/fleet/history.js';
import { renewSql } from '../../../src/lease/sql.js';
import { createSqlLeaseStore } from '../../../src/lease/sql-lease-store.js';
import type { FaultHandle } from '../../../src/local/data-api/index.js';
import { withLease } from '../../../src/middleware/with-lease.js';
import type { SqlExecutor } from '../../../src/sql/executor.js';
import { until } from '../../support/until.js';
import { localDataApiExecutor } from '../guarded-handler.js';
import type { FaultViolation, Scenario, ScenarioContext } from '../scenario.js';

const LEASE_MS = 1500;
const RENEW_EVERY_MS = 300;
const MARGIN_MS = 300;
const POLL_MS = 50;
/** Renewals succeed this long, then hang. */
const HEALTHY_MS = 2000;
const HOLDER_LIMIT_MS = 8000;
const CLOCK_SLACK_MS = 20;

interface Renewal {
  readonly holder: string;
  readonly atObs: number;
  /** When its answer arrived, if it did: the lease it set ran from no later than this. */
  answeredObs: number | null;
}

/** The executor, noting when each renewal was sent and answered, and by which holder. */
function recordingRenewals(inner: SqlExecutor, table: string) {
  const renew = renewSql(table);
  const renewals: Renewal[] = [];
  const executor: SqlExecutor = {
    async execute(statement, options) {
      if (statement.sql !== renew) return inner.execute(statement, options);
      const renewal: Renewal = { holder: String(statement.params?.holder), atObs: observerNow(), answeredObs: null };
      renewals.push(renewal);
      const result = await inner.execute(statement, options);
      renewal.answeredObs = observerNow();
      return result;
    },
    close: () => inner.close(),
  };
  return { executor, renewals };
}

interface Counts {
  invocations: number;
  runs: number;
}

function leaseOptions(context: ScenarioContext, executor: SqlExecutor, job: string, renewEveryMs: number) {
  return {
    job,
    executor,
    table: context.environment.table,
    leaseMs: LEASE_MS,
    renewEveryMs,
    leaseMarginMs: MARGIN_MS,
    logger: false as const,
    metrics: false as const,
  };
}

async function renewVersusTakeover(
  context: ScenarioContext,
  recorder: ReturnType<typeof recordingRenewals>,
  counts: Counts,
  violations: FaultViolation[],
  notes: string[],
): Promise<void> {
  const { environment } = context;
  const { executor } = recorder;
  const job = `with-lease-${context.runId}`;
  const store = createSqlLeaseStore({ executor, table: environment.table });
  let started: number | null = null;
  let stopped: number | null = null;
  let holder: string | null = null;
  counts.invocations++;
  let running: () => void = () => undefined;
  const isRunning = new Promise<void>((resolve) => {
    running = resolve;
  });
  const holding = withLease(leaseOptions(context, executor, job, RENEW_EVERY_MS), async (lease) => {
    started = observerNow();
    holder = lease.holder;
    running();
    const deadline = observerNow() + HOLDER_LIMIT_MS;
    while (!lease.signal.aborted && observerNow() < deadline) await sleep(20);
    stopped = observerNow();
    return lease.signal.aborted;
  });
  // The contender starts once the holder runs (or has been refused, which the checks below report).
  await Promise.race([isRunning, holding]);
  const faultAt = observerNow() + HEALTHY_MS;
  let hang: FaultHandle | undefined;
  let wonAt: number | null = null;
  let polls = 0;
  const refusedAt: number[] = [];
  const pollUntil = observerNow() + HOLDER_LIMIT_MS + LEASE_MS;
  try {
    while (observerNow() < pollUntil && wonAt === null) {
      if (!hang && observerNow() >= faultAt) {
        hang = environment.dataApi.faults.inject({
          hangUntilClientGivesUp: true,
          match: new RegExp(`^${escapeRegExp(renewSql(environment.table))}$`),
          forMs: HOLDER_LIMIT_MS,
        });
      }
      polls++;
      const sent = observerNow();
      const claim = await store.claim({ job, holder: `contender-${polls}`, leaseMs: LEASE_MS });
      if (claim.acquired) wonAt = observerNow();
      else {
        refusedAt.push(sent);
        await sleep(POLL_MS);
      }
    }
  } finally {
    hang?.remove();
  }
  const aborted = await holding;
  counts.invocations += polls;
  counts.runs += 1;
  if (started === null || stopped === null || holder === null) {
    violations.push({ invariant: 'not-exercised', job, message: 'the holder never ran' });
    return;
  }
  if (wonAt === null) {
    violations.push({
      invariant: 'liveness',
      job,
      message: 'the contender never took over after the renewals stopped',
    });
    return;
  }
  // The lease the holder last set ends a lease after that renewal's answer at the latest.
  const lastHealthy = Math.max(
    ...recorder.renewals.filter((r) => r.holder === holder && r.answeredObs !== null).map((r) => r.answeredObs ?? 0),
    started,
  );
  if (wonAt < faultAt) {
    violations.push({ invariant: 'overlap', job, message: 'the contender took over while the renewals succeeded' });
  }
  if (!aborted) {
    violations.push({ invariant: 'not-exercised', job, message: 'the holder’s signal never aborted' });
  }
  if (wonAt < stopped) {
    violations.push({
      invariant: 'overlap',
      job,
      message: `the contender won ${(stopped - wonAt).toFixed(0)} ms before the holder stopped`,
    });
  }
  // Liveness without a wall-clock allowance: every claim sent after that lease ended must win
  // (however slowly this machine answers it). CLOCK_SLACK_MS covers the database clock's rounding.
  const refusedLate = refusedAt.filter((sent) => sent > lastHealthy + LEASE_MS + CLOCK_SLACK_MS);
  if (refusedLate.length > 0) {
    violations.push({
      invariant: 'liveness',
      job,
      message: `a claim sent ${(refusedLate[0]! - lastHealthy).toFixed(0)} ms after the last answered renewal was refused (lease ${LEASE_MS} ms)`,
    });
  }
  notes.push(
    `renew vs takeover: renewals hung at ${(faultAt - started).toFixed(0)} ms, the holder stopped at ${(stopped - started).toFixed(0)} ms, a contender won at ${(wonAt - started).toFixed(0)} ms (${polls} polls)`,
  );
}

async function leftoverTimers(
  context: ScenarioContext,
  recorder: ReturnType<typeof recordingRenewals>,
  counts: Counts,
  violations: FaultViolation[],
  notes: string[],
): Promise<void> {
  const job = `with-lease-timers-${context.runId}`;
  let first: string | null = null;
  await withLease(leaseOptions(context, recorder.executor, job, 100), async (lease) => {
    first = lease.holder;
    // Runs until it has renewed (an awaited condition, not a fixed sleep a slow machine outlasts).
    await until(() => recorder.renewals.some((renewal) => renewal.holder === first && renewal.answeredObs !== null), {
      what: 'the first run to renew',
      timeoutMs: 120_000,
    });
  });
  const returned = observerNow();
  // The next run in the same process, as the next invocation of a thawed Lambda.
  await withLease(leaseOptions(context, recorder.executor, `${job}-next`, 100), () => sleep(500));
  counts.invocations += 2;
  counts.runs += 2;
  const mine = recorder.renewals.filter((renewal) => renewal.holder === first);
  const late = mine.filter((renewal) => renewal.atObs > returned);
  if (mine.length === late.length) {
    violations.push({ invariant: 'not-exercised', job, message: 'the first run never renewed' });
  }
  if (late.length > 0) {
    violations.push({
      invariant: 'leftover-timer',
      job,
      message: `${late.length} renewal(s) of a finished run reached the database`,
    });
  }
  notes.push(
    `leftover timers: ${mine.length - late.length} renewals during the first run, ${late.length} after it returned`,
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export const withLeaseScenario: Scenario = {
  name: 'with-lease',
  catalogue: 'L2 B5 T5 F11',
  proves:
    'withLease keeps its lease while renewals succeed, stops its body before a contender can take over once they hang, is taken over within a lease, and leaves no renewal behind after it returns.',
  async run(context) {
    const recorder = recordingRenewals(localDataApiExecutor(context.environment), context.environment.table);
    const violations: FaultViolation[] = [];
    const notes: string[] = [];
    const counts: Counts = { invocations: 0, runs: 0 };
    try {
      await renewVersusTakeover(context, recorder, counts, violations, notes);
      await leftoverTimers(context, recorder, counts, violations, notes);
    } finally {
      await recorder.executor.close();
    }
    return { faults: 1, invocations: counts.invocations, runs: counts.runs, violations, notes };
  },
};
