/**
 * F6, the Jepsen clock strobe compressed: while two regions keep delivering ticks, the database
 * restarts again and again with its clock bumped back and forth (+3 s, −2 s, +8 s, −5 s from
 * real time), then back to real time. Forward bumps may let a takeover overlap a running holder
 * (T2, reported); everything else must hold: fences rise, the fenced register is intact, nothing
 * crashes, and every tick runs once the clock is back.
 */
import { RegisterVariant } from '../../../src/fleet/history.js';
import type { ScheduleItem } from '../../../src/fleet/run-schedule.js';
import { databaseClock, restartWithClock } from '../database-clock.js';
import { fleetJob, fleetReport, runFleet, runFleetSchedule, TWO_REGIONS } from '../fleet-run.js';
import { isNotRun, type Scenario } from '../scenario.js';
import { deliverEachRegion, planTicks } from '../ticks.js';

const SECOND = 1000;
/** The database clock's offset from real time after each bump; the last puts it back. */
const OFFSETS_MS = [3 * SECOND, -2 * SECOND, 8 * SECOND, -5 * SECOND, 0];
const BUMP_EVERY_MS = 3000;
const TICK_EVERY_MS = 1000;
const TIMEOUT_MS = 2000;
/** Ticks after the clock is back, for liveness. */
const QUIET_TICKS = 5;

export const dbClockStrobe: Scenario = {
  name: 'db-clock-strobe',
  catalogue: 'F6 T2 T3',
  proves:
    'A database clock bumped back and forth by seconds across restarts never breaks fence order or the fenced register, and every tick runs once the clock is back.',
  async run(context) {
    const clock = await databaseClock(context);
    if (isNotRun(clock)) return clock;
    const fenced = fleetJob(`strobe-fenced-${context.runId}`, { register: RegisterVariant.FENCED });
    const unfenced = fleetJob(`strobe-unfenced-${context.runId}`, { register: RegisterVariant.UNFENCED });
    const outcome = await runFleet(
      context,
      { jobs: [fenced, unfenced], regions: TWO_REGIONS, maxWorkersPerRegion: 5 },
      async (fleet) => {
        const { random } = fleet;
        const count = Math.ceil(((OFFSETS_MS.length + 1) * BUMP_EVERY_MS) / TICK_EVERY_MS) + QUIET_TICKS;
        const ticks = await planTicks(context.environment, count, TICK_EVERY_MS);
        const items: ScheduleItem[] = [];
        ticks.forEach((tick, index) => {
          for (const job of [fenced, unfenced]) {
            items.push(
              ...deliverEachRegion(300 + index * TICK_EVERY_MS, tick, {
                job: job.job,
                regions: TWO_REGIONS,
                timeoutMs: TIMEOUT_MS,
                delayMs: () => random.int(0, 30),
                body: () => ({ bodyMs: random.int(200, 800), registerDelayMs: random.int(100, 400) }),
              }),
            );
          }
        });
        let offsetNow = 0;
        // One bump after another: each waits for the previous restart, so they never race.
        items.push({
          kind: 'step',
          atMs: BUMP_EVERY_MS,
          run: async () => {
            for (const [index, offset] of OFFSETS_MS.entries()) {
              if (index > 0) await new Promise((resolve) => setTimeout(resolve, BUMP_EVERY_MS));
              await restartWithClock(fleet.history, clock, offset);
              offsetNow = offset;
            }
          },
        });
        try {
          await runFleetSchedule(fleet, { items, lambdaRetry: { delaysMs: [1500, 3000] }, settleTimeoutMs: 60_000 });
        } finally {
          // Whatever happened, later scenarios get the real clock.
          if (offsetNow !== 0) await restartWithClock(fleet.history, clock, 0);
        }
      },
    );
    return fleetReport(outcome, {
      allowOverlapFor: [fenced.job, unfenced.job],
      notes: [`clock offsets ${OFFSETS_MS.map((ms) => `${ms / SECOND} s`).join(' → ')}, a restart each`],
    });
  },
};
