/**
 * P2: a Jepsen-style soak. For a minute and a half, three regions (one with a skewed clock)
 * receive every tick plus seeded duplicates, late copies, replays, stale and forged events,
 * while a seeded nemesis strikes every few seconds: the database frozen or crashed, Data API
 * errors, lost answers, hangs and latency, holders frozen or overrunning their deadline. The
 * last stretch is quiet, so every tick must run again by the end. All invariants must hold for a
 * fenced and an unfenced job; the unfenced register's overlaps and corruption are reported.
 */
import { replayedEvent, scheduledRuleEvent } from '../../../src/fleet/events.js';
import { Delivery, RegisterVariant } from '../../../src/fleet/history.js';
import { DataApiFault, leaseStatements } from '../../../src/fleet/nemeses.js';
import type { Random } from '../../../src/fleet/random.js';
import type { ScheduleItem } from '../../../src/fleet/run-schedule.js';
import { type Fleet, fleetJob, fleetReport, runFleet, runFleetSchedule } from '../fleet-run.js';
import type { Scenario } from '../scenario.js';
import { deliverAt, planTicks } from '../ticks.js';

const TICK_EVERY_MS = 1200;
const TIMEOUT_MS = 2500;
const QUIET_END_MS = 9000;
const REGIONS = [
  { name: 'us-east-1', workers: 2 },
  { name: 'eu-west-1', workers: 2 },
  { name: 'ap-southeast-2', workers: 1, clockSkewMs: 120_000 },
] as const;

/** A strike's parameters are drawn when the schedule is planned, so the seed alone decides them. */
type Strike = (random: Random) => (fleet: Fleet) => unknown;

/** The nemesis's repertoire; database faults only where the suite owns the server. */
function repertoire(canHitDatabase: boolean, table: string): Strike[] {
  const statements = leaseStatements(table);
  const strikes: Strike[] = [
    (r) => {
      const forMs = r.int(500, 4000);
      return (f) => f.nemeses.dataApiFault(DataApiFault.RESUMING, { forMs });
    },
    (r) => {
      const forMs = r.int(500, 3000);
      return (f) => f.nemeses.dataApiFault(DataApiFault.UNAVAILABLE, { forMs });
    },
    (r) => {
      const forMs = r.int(500, 2000);
      return (f) => f.nemeses.dataApiFault(DataApiFault.THROTTLING, { forMs });
    },
    (r) => {
      const count = r.int(1, 3);
      return (f) => f.nemeses.dataApiFault(DataApiFault.STATEMENT_TIMEOUT, { match: statements.claim, count });
    },
    (r) => {
      const count = r.int(1, 3);
      return (f) => f.nemeses.dataApiFault(DataApiFault.LOST_RESPONSE, { match: statements.claim, count });
    },
    (r) => {
      const count = r.int(1, 2);
      return (f) => f.nemeses.dataApiFault(DataApiFault.LOST_RESPONSE, { match: statements.releaseSuccess, count });
    },
    (r) => {
      const count = r.int(1, 2);
      return (f) => f.nemeses.dataApiFault(DataApiFault.HANG, { match: statements.claim, count });
    },
    (r) => {
      const latencyMs = r.int(200, 800);
      const forMs = r.int(1000, 3000);
      return (f) => f.nemeses.dataApiLatency(latencyMs, { forMs });
    },
    (r) => {
      const which = r.int(0, 99);
      const ms = r.int(500, 4000);
      return async (f) => {
        // Whoever is busy when it strikes: a holder, or a contender waiting on its claim.
        const busy = f.supervisor.workers().filter((worker) => worker.busy && !worker.paused);
        const worker = busy[which % Math.max(1, busy.length)];
        if (worker) await f.nemeses.pauseWorker(worker.pid, ms);
      };
    },
  ];
  if (canHitDatabase) {
    strikes.push(
      (r) => {
        const ms = r.int(500, 5000);
        return (f) => f.nemeses.pauseDatabase(ms);
      },
      (r) => {
        const downMs = r.int(0, 3000);
        return (f) => f.nemeses.crashDatabase(downMs);
      },
    );
  }
  return strikes;
}

export const soak: Scenario = {
  name: 'soak',
  catalogue: 'P2',
  proves:
    'Under a seeded mix of every nemesis and hostile delivery for 90 s, no two bodies overlap, no tick runs twice, fences rise, nothing forbidden runs, the fenced register is intact, and every tick runs after the quiet end.',
  async run(context) {
    const durationMs = context.profile === 'quick' ? 20_000 : 90_000;
    const fenced = fleetJob(`soak-fenced-${context.runId}`, {
      register: RegisterVariant.FENCED,
      tickGranularityMs: 100,
    });
    const unfenced = fleetJob(`soak-unfenced-${context.runId}`, {
      register: RegisterVariant.UNFENCED,
      tickGranularityMs: 100,
    });
    let strikes = 0;
    const outcome = await runFleet(
      context,
      { jobs: [fenced, unfenced], regions: REGIONS.map((region) => ({ ...region })), maxWorkersPerRegion: 6 },
      async (fleet) => {
        const { random } = fleet;
        const repertory = repertoire(fleet.nemeses.canHitDatabase, context.environment.table);
        const ticks = await planTicks(context.environment, Math.floor(durationMs / TICK_EVERY_MS), TICK_EVERY_MS);
        const first = ticks[0] as Date;
        const items: ScheduleItem[] = [];
        const body = () =>
          random.chance(0.05)
            ? { bodyMs: TIMEOUT_MS + 500, registerDelayMs: random.int(0, 300) }
            : { bodyMs: random.int(100, 500), registerDelayMs: random.int(0, 200) };
        ticks.forEach((tick, index) => {
          const at = 300 + index * TICK_EVERY_MS;
          for (const job of [fenced, unfenced]) {
            const send = (offset: number, region: string, delivery: Delivery, deliveredTick = tick, event?: unknown) =>
              items.push(
                deliverAt(at + offset, {
                  job: job.job,
                  region,
                  tick: deliveredTick,
                  delivery,
                  body: body(),
                  timeoutMs: TIMEOUT_MS,
                  ...(event === undefined ? {} : { event }),
                }),
              );
            for (const region of REGIONS) {
              const event =
                region.name === 'ap-southeast-2' ? scheduledRuleEvent(tick, region.name, random.int(0, 99)) : undefined;
              send(random.int(0, 40), region.name, Delivery.SCHEDULED, tick, event);
            }
            if (random.chance(0.3)) send(random.int(0, 40), random.pick(REGIONS).name, Delivery.DUPLICATE);
            if (random.chance(0.2) && index > 1)
              send(random.int(200, 900), random.pick(REGIONS).name, Delivery.LATE, ticks[index - 2]);
            if (random.chance(0.05)) {
              send(
                random.int(0, 900),
                'eu-west-1',
                Delivery.REPLAY,
                tick,
                replayedEvent(scheduledRuleEvent(tick, 'eu-west-1')),
              );
            }
            if (random.chance(0.05))
              send(random.int(0, 900), 'us-east-1', Delivery.STALE, new Date(first.getTime() - 2 * 3_600_000));
            if (random.chance(0.05))
              send(random.int(0, 900), 'us-east-1', Delivery.FORGED, new Date(first.getTime() + 86_400_000));
          }
        });
        // The nemesis: a strike every 2–8 s, none in the quiet end.
        for (let at = 2000; at < durationMs - QUIET_END_MS; at += random.int(2000, 8000)) {
          const strike = random.pick(repertory)(random);
          strikes++;
          items.push({
            kind: 'step',
            atMs: at,
            run: async () => {
              await strike(fleet);
            },
          });
        }
        await runFleetSchedule(fleet, {
          items,
          // A retry runs a normal body: a body that always overruns could never run, faults or not.
          lambdaRetry: { delaysMs: [1500, 3000], body: () => ({ bodyMs: 200, registerDelayMs: 50 }) },
          settleTimeoutMs: 60_000,
        });
      },
    );
    const overlaps = outcome.check.jobs.flatMap((job) =>
      job.overlaps.map((overlap) => `${job.job} ${overlap.overlapMs.toFixed(0)} ms`),
    );
    return fleetReport(outcome, {
      notes: [
        `${strikes} nemesis strikes over ${durationMs / 1000} s, the last ${QUIET_END_MS / 1000} s quiet`,
        `overlaps: ${overlaps.length === 0 ? 'none' : overlaps.join(', ')}`,
      ],
    });
  },
};
