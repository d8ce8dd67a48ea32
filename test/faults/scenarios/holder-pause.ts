/**
 * F8: a holder is frozen (SIGSTOP) between its register read and write.
 * - With the default lease (the invocation's remaining time plus a margin) the freeze outlasts
 *   the deadline: the supervisor kills the frozen holder, nobody else runs meanwhile, and
 *   Lambda's retry runs the tick once its lease ends. No overlap.
 * - With a short fixed lease the freeze outlasts the lease but not the deadline: another region
 *   takes over while the holder is frozen, and the holder wakes to write. That overlap is the
 *   documented limit of any lease; the fenced register must refuse the stale write (zero
 *   corruption), and the unfenced register's lost write is reported.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { schedulerEvent } from '../../../src/fleet/events.js';
import { Delivery, InvocationOutcome, RegisterVariant } from '../../../src/fleet/history.js';
import type { FleetJobConfig } from '../../../src/fleet/messages.js';
import { createSqlLeaseStore } from '../../../src/lease/sql-lease-store.js';
import { until } from '../../support/until.js';
import {
  type Fleet,
  fleetJob,
  fleetReport,
  mergeReports,
  runFleet,
  runFleetSchedule,
  TWO_REGIONS,
} from '../fleet-run.js';
import type { FaultViolation, Scenario, ScenarioContext } from '../scenario.js';
import { deliverAt, planTicks } from '../ticks.js';

/** Shorter than the freeze, with room for renewals under load before it. */
const SHORT_LEASE_MS = 2000;
const LONG_TIMEOUT_MS = 6000;
const DEFAULT_TIMEOUT_MS = 2000;
/** Long enough for the announce and the read to finish before the freeze. */
const FREEZE_AFTER_MS = 300;
const FREEZE_MS = 3000;
/** After the short lease ended, before the frozen holder wakes. */
const TAKEOVER_AFTER_MS = 1800;

/** Freezes the holder of `tick` mid-job and sends `next` to the other region meanwhile. */
async function freezeHolder(
  fleet: Fleet,
  job: FleetJobConfig,
  ticks: readonly Date[],
  timeoutMs: number,
  leaseRunsOut = false,
): Promise<void> {
  const [tick, next] = ticks as [Date, Date];
  const body = { bodyMs: FREEZE_AFTER_MS + FREEZE_MS + 500, registerDelayMs: FREEZE_AFTER_MS + 200 };
  const holder = await fleet.supervisor.dispatch({
    job: job.job,
    region: 'us-east-1',
    event: schedulerEvent(tick),
    tick,
    delivery: Delivery.SCHEDULED,
    timeoutMs,
    body,
  });
  // A holder that did not win has nothing to freeze; the missing overlap reports it.
  if (!holder || (await holder.bodyStarted) === null) return;
  await sleep(FREEZE_AFTER_MS);
  const frozen = fleet.nemeses.pauseWorker(holder.pid, FREEZE_MS);
  await sleep(TAKEOVER_AFTER_MS - FREEZE_AFTER_MS);
  if (leaseRunsOut) {
    // The frozen holder renewed its short lease until the freeze: the takeover comes once that
    // lease has run out on the database clock (within the freeze), not at a guessed time.
    const inspector = createSqlLeaseStore({ executor: fleet.environment.executor, table: fleet.environment.table });
    await until(async () => (await inspector.inspect(job.job))?.held === false, {
      what: 'the frozen holder’s short lease to run out',
      timeoutMs: FREEZE_MS,
    }).catch(() => undefined);
  }
  await fleet.supervisor.invoke({
    job: job.job,
    region: 'eu-west-1',
    event: schedulerEvent(next),
    tick: next,
    delivery: Delivery.SCHEDULED,
    timeoutMs,
    body: { bodyMs: 100, registerDelayMs: 0 },
  });
  await frozen;
  await holder.done;
}

async function shortLease(context: ScenarioContext, notes: string[], extra: FaultViolation[]) {
  const fenced = fleetJob(`pause-fenced-${context.runId}`, {
    register: RegisterVariant.FENCED,
    leaseMs: SHORT_LEASE_MS,
  });
  const unfenced = fleetJob(`pause-unfenced-${context.runId}`, {
    register: RegisterVariant.UNFENCED,
    leaseMs: SHORT_LEASE_MS,
  });
  const outcome = await runFleet(context, { jobs: [fenced, unfenced], regions: TWO_REGIONS }, async (fleet) => {
    const ticks = await planTicks(context.environment, 2, 1000);
    await Promise.all([fenced, unfenced].map((job) => freezeHolder(fleet, job, ticks, LONG_TIMEOUT_MS, true)));
  });
  const allowed = [fenced.job, unfenced.job];
  for (const report of outcome.check.jobs) {
    // The point is the overlap: without it, the fence was never put to the test.
    if (report.overlaps.length === 0) {
      extra.push({
        invariant: 'not-exercised',
        job: report.job,
        message: 'no takeover happened while the holder was frozen',
      });
    }
    // The stale holder's write is refused by the fence, or cut short in flight: a standard-Lambda
    // holder that wakes to a lost lease is abandoned and its environment ended (its write may
    // still land, refused by the fence; the corrupt count says whether anything got through).
    if (
      report.register?.variant === RegisterVariant.FENCED &&
      report.register.rejected === 0 &&
      report.register.unknown === 0
    ) {
      extra.push({ invariant: 'not-exercised', job: report.job, message: 'the fence met no stale write' });
    }
  }
  notes.push('short fixed lease: the takeover during the freeze is the documented limit; only fencing protects writes');
  return { outcome, allowed };
}

async function defaultLease(context: ScenarioContext, extra: FaultViolation[]) {
  const job = fleetJob(`pause-default-${context.runId}`, { register: RegisterVariant.FENCED });
  return runFleet(context, { jobs: [job], regions: TWO_REGIONS }, async (fleet) => {
    const ticks = await planTicks(context.environment, 1, 1000);
    const tick = ticks[0] as Date;
    await runFleetSchedule(fleet, {
      items: [
        deliverAt(0, {
          job: job.job,
          region: 'us-east-1',
          tick,
          delivery: Delivery.SCHEDULED,
          body: { bodyMs: 1500, registerDelayMs: FREEZE_AFTER_MS + 200 },
          timeoutMs: DEFAULT_TIMEOUT_MS,
        }),
        {
          kind: 'step',
          atMs: FREEZE_AFTER_MS,
          run: async () => {
            const busy = fleet.supervisor.workers().find((worker) => worker.busy && worker.region === 'us-east-1');
            if (busy) await fleet.nemeses.pauseWorker(busy.pid, FREEZE_MS);
          },
        },
        // Arrives while the frozen holder's lease still runs: must be refused.
        deliverAt(TAKEOVER_AFTER_MS, {
          job: job.job,
          region: 'eu-west-1',
          tick,
          delivery: Delivery.DUPLICATE,
          body: { bodyMs: 100, registerDelayMs: 0 },
          timeoutMs: DEFAULT_TIMEOUT_MS,
        }),
      ],
      lambdaRetry: { delaysMs: [1000, 1000], body: () => ({ bodyMs: 100, registerDelayMs: 0 }) },
      settleTimeoutMs: 20_000,
    });
    const killed = fleet.history
      .snapshot()
      .invocations.some((record) => record.outcome === InvocationOutcome.KILLED && record.reason === 'timeout');
    if (!killed)
      extra.push({
        invariant: 'not-exercised',
        job: job.job,
        message: 'the frozen holder was not killed at its deadline',
      });
  });
}

export const holderPause: Scenario = {
  name: 'holder-pause',
  catalogue: 'F8 B5 C4',
  proves:
    'A holder frozen past its deadline is killed and its tick retried without overlap; frozen past a short lease, the fence refuses its stale write while the unfenced register loses one.',
  async run(context) {
    const notes: string[] = [];
    const extra: FaultViolation[] = [];
    const first = await defaultLease(context, extra);
    const second = await shortLease(context, notes, extra);
    return mergeReports(
      fleetReport(first, { strictLiveness: true }),
      fleetReport(second.outcome, { allowOverlapFor: second.allowed, extraViolations: extra, notes }),
    );
  },
};
