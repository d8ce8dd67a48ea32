/**
 * F5 and T2/T3: the database restarts under libfaketime with its clock stepped, as a failover to
 * a writer with a skewed clock would, while leases are held.
 * - Forward 60 s: every lease ends early. A holder mid-job (between its register read and write)
 *   loses its lease on the database clock while it still runs, and another region takes over:
 *   the overlap the design documents as the limit of any lease. The fenced register must refuse
 *   the stale write (zero corruption); the unfenced register's corruption is reported.
 * - Backward 7 s: leases last longer. A holder's duplicate is refused, nothing overlaps, and the
 *   job is delayed by at most the step.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { schedulerEvent } from '../../../src/fleet/events.js';
import { Delivery, RegisterVariant } from '../../../src/fleet/history.js';
import type { FleetJobConfig } from '../../../src/fleet/messages.js';
import type { Dispatched } from '../../../src/fleet/supervisor.js';
import { type DatabaseClock, databaseClock, databaseOffset, restartWithClock } from '../database-clock.js';
import { type Fleet, fleetJob, fleetReport, mergeReports, runFleet, TWO_REGIONS } from '../fleet-run.js';
import { type FaultViolation, isNotRun, type NotRun, type Scenario, type ScenarioContext } from '../scenario.js';
import { planTicks } from '../ticks.js';

const SECOND = 1000;
const FORWARD_MS = 60 * SECOND;
const BACKWARD_MS = -7 * SECOND;
const TIMEOUT_MS = 6000;
/** The holder reads, then waits this long before it writes: the step and the takeover fit inside. */
const HOLDER_WRITE_DELAY_MS = 4000;

function dispatch(
  fleet: Fleet,
  job: FleetJobConfig,
  region: string,
  tick: Date,
  delivery: Delivery,
  body: { bodyMs: number; registerDelayMs: number },
) {
  return fleet.supervisor.dispatch({
    job: job.job,
    region,
    event: schedulerEvent(tick),
    tick,
    delivery,
    timeoutMs: TIMEOUT_MS,
    body,
  });
}

async function forward(context: ScenarioContext, clock: DatabaseClock, extra: FaultViolation[]) {
  const fenced = fleetJob(`clock-fenced-${context.runId}`, { register: RegisterVariant.FENCED });
  const unfenced = fleetJob(`clock-unfenced-${context.runId}`, { register: RegisterVariant.UNFENCED });
  let offset = 0;
  const outcome = await runFleet(context, { jobs: [fenced, unfenced], regions: TWO_REGIONS }, async (fleet) => {
    const [tick, next] = (await planTicks(context.environment, 2, SECOND)) as [Date, Date];
    const holders = (
      await Promise.all(
        [fenced, unfenced].map((job) =>
          dispatch(fleet, job, 'us-east-1', tick, Delivery.SCHEDULED, {
            bodyMs: HOLDER_WRITE_DELAY_MS + 500,
            registerDelayMs: HOLDER_WRITE_DELAY_MS,
          }),
        ),
      )
    ).filter((holder): holder is Dispatched => holder !== null);
    await Promise.all(holders.map((holder) => holder.bodyStarted));
    await sleep(200); // their reads are done
    try {
      await restartWithClock(fleet.history, clock, FORWARD_MS);
      offset = await databaseOffset(fleet.environment);
      await Promise.all(
        [fenced, unfenced].map((job) =>
          dispatch(fleet, job, 'eu-west-1', next, Delivery.SCHEDULED, { bodyMs: 100, registerDelayMs: 0 }).then(
            (taker) => taker?.done,
          ),
        ),
      );
      await Promise.all(holders.map((holder) => holder.done));
    } finally {
      await restartWithClock(fleet.history, clock, 0);
    }
  });
  for (const report of outcome.check.jobs) {
    if (report.overlaps.length === 0) {
      extra.push({ invariant: 'not-exercised', job: report.job, message: 'no takeover during the holder’s run' });
    }
    if (report.register?.variant === RegisterVariant.FENCED && report.register.rejected === 0) {
      extra.push({ invariant: 'not-exercised', job: report.job, message: 'the fence refused no stale write' });
    }
  }
  return { outcome, offset, allowed: [fenced.job, unfenced.job] };
}

async function backward(context: ScenarioContext, clock: DatabaseClock, notes: string[], extra: FaultViolation[]) {
  // No register: the holder must not touch the database while it restarts, only hold the lease.
  const job = fleetJob(`clock-back-${context.runId}`);
  let offset = 0;
  const outcome = await runFleet(context, { jobs: [job], regions: TWO_REGIONS }, async (fleet) => {
    const ticks = await planTicks(context.environment, 3, SECOND);
    const [tick, later, last] = ticks as [Date, Date, Date];
    const short = { bodyMs: 100, registerDelayMs: 0 };
    const holder = await dispatch(fleet, job, 'us-east-1', tick, Delivery.SCHEDULED, {
      bodyMs: 2500,
      registerDelayMs: 0,
    });
    await holder?.bodyStarted;
    try {
      await restartWithClock(fleet.history, clock, BACKWARD_MS);
      offset = await databaseOffset(fleet.environment);
      await dispatch(fleet, job, 'eu-west-1', tick, Delivery.DUPLICATE, short).then((d) => d?.done);
      await holder?.done;
      const released = performance.now();
      // The lease ends no sooner than its claim time, which the stepped-back clock has not reached yet.
      const refused = await dispatch(fleet, job, 'eu-west-1', later, Delivery.SCHEDULED, short).then((d) => d?.done);
      if (refused?.reason !== 'held') {
        extra.push({
          invariant: 'not-exercised',
          job: job.job,
          message: `right after the release the next tick ended ${refused?.outcome} (${refused?.reason}), not held by the longer lease`,
        });
      }
      await sleep(Math.max(0, -BACKWARD_MS + SECOND - (performance.now() - released)));
      await dispatch(fleet, job, 'us-east-1', last, Delivery.SCHEDULED, short).then((d) => d?.done);
    } finally {
      await restartWithClock(fleet.history, clock, 0);
    }
  });
  notes.push(
    `backward step measured ${(offset / SECOND).toFixed(1)} s: a tick right after the release was refused, one a step later ran`,
  );
  return { outcome, offset };
}

export const dbClockStep: Scenario = {
  name: 'db-clock-step',
  catalogue: 'F5 T2 T3',
  proves:
    'A database clock stepped 60 s forward lets a takeover overlap a running holder (reported), yet the fenced register refuses the stale write; stepped 7 s back, nothing overlaps.',
  async run(context): Promise<ReturnType<typeof mergeReports> | NotRun> {
    const clock = await databaseClock(context);
    if (isNotRun(clock)) return clock;
    const extra: FaultViolation[] = [];
    const notes: string[] = [];
    const ahead = await forward(context, clock, extra);
    // libfaketime that does not reach the server would make this scenario prove nothing.
    if (Math.abs(ahead.offset - FORWARD_MS) > 10 * SECOND) {
      extra.push({
        invariant: 'not-exercised',
        job: '-',
        message: `faketime did not move the database clock (it read ${(ahead.offset / SECOND).toFixed(1)} s off)`,
      });
    }
    notes.push(`forward step measured ${(ahead.offset / SECOND).toFixed(1)} s`);
    const behind = await backward(context, clock, notes, extra);
    if (Math.abs(behind.offset - BACKWARD_MS) > 3 * SECOND) {
      extra.push({ invariant: 'not-exercised', job: '-', message: `the backward step read ${behind.offset} ms` });
    }
    return mergeReports(
      fleetReport(ahead.outcome, { allowOverlapFor: ahead.allowed, extraViolations: extra, notes }),
      fleetReport(behind.outcome),
    );
  },
};
