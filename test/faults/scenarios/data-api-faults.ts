/**
 * F3, F4 and B4 through the local Data API server's hooks, one fault after another while two
 * regions keep delivering ticks: resuming longer than an invocation's budget (fail closed, then
 * Lambda's retry), writer unavailable, throttling, statement timeouts on claims, claims and a
 * release that commit but lose their answer, claims that hang until the client gives up, and
 * latency on every call. Then clean ticks: every tick runs once the faults heal.
 */
import { InvocationOutcome, RegisterVariant } from '../../../src/fleet/history.js';
import { DataApiFault, leaseStatements, type Nemeses } from '../../../src/fleet/nemeses.js';
import { REGISTER_TABLE } from '../../../src/fleet/register.js';
import type { ScheduleItem } from '../../../src/fleet/run-schedule.js';
import type { FaultHandle } from '../../../src/local/data-api/index.js';
import { countOutcome, fleetJob, fleetReport, runFleet, runFleetSchedule, TWO_REGIONS } from '../fleet-run.js';
import type { FaultViolation, Scenario } from '../scenario.js';
import { deliverEachRegion, planTicks } from '../ticks.js';

const TICK_EVERY_MS = 1000;
const TIMEOUT_MS = 3000;
/** Longer than an invocation's whole budget, shorter than Lambda's first retry after it. */
const RESUMING_MS = 3500;
const CLEAN_TICKS = 3;

type Statements = ReturnType<typeof leaseStatements> & { readonly registerWrite: RegExp };
/** A fault and, for one that lasts a while, how long: the next fault waits until it has ended. */
interface Fault {
  readonly forMs?: number;
  readonly inject: (nemeses: Nemeses, statements: Statements) => FaultHandle;
}

function lasting(forMs: number, inject: (nemeses: Nemeses) => FaultHandle): Fault {
  return { forMs, inject };
}

/**
 * The faults, in order; each strikes just before its tick's deliveries, and never while an
 * earlier one still answers every call (a resuming database would hide an unavailable one).
 */
const FULL: readonly Fault[] = [
  lasting(RESUMING_MS, (n) => n.dataApiFault(DataApiFault.RESUMING, { forMs: RESUMING_MS })),
  lasting(1500, (n) => n.dataApiFault(DataApiFault.UNAVAILABLE, { forMs: 1500 })),
  lasting(1000, (n) => n.dataApiFault(DataApiFault.THROTTLING, { forMs: 1000 })),
  { inject: (n, s) => n.dataApiFault(DataApiFault.STATEMENT_TIMEOUT, { match: s.claim, count: 2 }) },
  { inject: (n, s) => n.dataApiFault(DataApiFault.LOST_RESPONSE, { match: s.claim, count: 2 }) },
  { inject: (n, s) => n.dataApiFault(DataApiFault.LOST_RESPONSE, { match: s.releaseSuccess, count: 1 }) },
  { inject: (n, s) => n.dataApiFault(DataApiFault.HANG, { match: s.claim, count: 2 }) },
  lasting(1500, (n) => n.dataApiLatency(400, { forMs: 1500 })),
  { inject: (n, s) => n.dataApiFault(DataApiFault.LOST_RESPONSE, { match: s.registerWrite, count: 1 }) },
];

const QUICK: readonly Fault[] = [
  { inject: (n, s) => n.dataApiFault(DataApiFault.LOST_RESPONSE, { match: s.claim, count: 2 }) },
  { inject: (n, s) => n.dataApiFault(DataApiFault.HANG, { match: s.claim, count: 1 }) },
  lasting(800, (n) => n.dataApiFault(DataApiFault.RESUMING, { forMs: 800 })),
];

/** The tick each fault strikes at: one after another, a lasting fault's ticks left to it alone. */
function faultTicks(faults: readonly Fault[]): number[] {
  let next = 0;
  return faults.map((fault) => {
    const at = next;
    next += 1 + Math.ceil((fault.forMs ?? 0) / TICK_EVERY_MS);
    return at;
  });
}

export const dataApiFaults: Scenario = {
  name: 'data-api-faults',
  catalogue: 'F3 F4 B1–B4 F10',
  proves:
    'Resuming, unavailable, throttling, statement timeouts, lost answers after commit, hangs and latency never let a body run twice or at once; an unknown claim fails closed and the tick runs on retry.',
  async run(context) {
    const job = fleetJob(`dataapi-${context.runId}`, { register: RegisterVariant.FENCED });
    const faults = context.profile === 'quick' ? QUICK : FULL;
    const extra: FaultViolation[] = [];
    const injected: FaultHandle[] = [];
    const outcome = await runFleet(context, { jobs: [job], regions: TWO_REGIONS }, async (fleet) => {
      const { random, nemeses } = fleet;
      const statements: Statements = {
        ...leaseStatements(context.environment.table),
        registerWrite: new RegExp(`^UPDATE ${REGISTER_TABLE} SET items`),
      };
      const strikes = faultTicks(faults);
      const ticks = await planTicks(context.environment, (strikes.at(-1) ?? 0) + 1 + CLEAN_TICKS, TICK_EVERY_MS);
      const items: ScheduleItem[] = [];
      ticks.forEach((tick, index) => {
        const at = 300 + index * TICK_EVERY_MS;
        const which = strikes.indexOf(index);
        const fault = faults[which];
        if (fault) {
          items.push({
            kind: 'step',
            atMs: at - 50,
            run: () => {
              injected[which] = fault.inject(nemeses, statements);
            },
          });
        }
        items.push(
          ...deliverEachRegion(at, tick, {
            job: job.job,
            regions: TWO_REGIONS,
            timeoutMs: TIMEOUT_MS,
            delayMs: () => random.int(0, 20),
            body: () => ({ bodyMs: random.int(150, 300), registerDelayMs: random.int(0, 40) }),
          }),
        );
      });
      await runFleetSchedule(fleet, { items, lambdaRetry: { delaysMs: [1200, 2400] }, settleTimeoutMs: 30_000 });
    });
    // A fault that no call met proved nothing: the schedule ran past it.
    faults.forEach((_, index) => {
      if (!injected[index] || injected[index].hits === 0) {
        extra.push({
          invariant: 'not-exercised',
          job: job.job,
          message: `fault ${index + 1} of ${faults.length} (${context.profile} profile) hit no Data API call`,
        });
      }
    });
    const failedClosed = countOutcome(outcome.history, InvocationOutcome.UNAVAILABLE);
    if (context.profile === 'full' && failedClosed === 0) {
      extra.push({
        invariant: 'not-exercised',
        job: job.job,
        message: 'no invocation failed closed, though resuming outlasted the budget',
      });
    }
    const retries = Math.max(0, ...outcome.history.invocations.map((record) => record.claimAttempts ?? 0));
    return fleetReport(outcome, {
      extraViolations: extra,
      notes: [
        `${failedClosed} invocation(s) failed closed (lease unknown); most claim attempts in one invocation: ${retries}`,
      ],
    });
  },
};
