/**
 * F6, the Jepsen clock strobe compressed: while two regions keep delivering ticks, the database
 * restarts again and again with its clock bumped back and forth (+3 s, −2 s, +8 s, −5 s from
 * real time), then back to real time. Forward bumps may let a takeover overlap a running holder
 * (T2, reported); everything else must hold: fences rise, the fenced register is intact, nothing
 * crashes, and every tick runs once the clock is back.
 *
 * Two phases, so a slow machine cannot shift the verdict: ticks keep coming while the strobe runs
 * (however long its restarts take), and only once the clock is back does the quiet phase start,
 * long enough to outlast a lease granted under the furthest-forward clock.
 */
import { setTimeout as sleep } from 'node:timers/promises';
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
const MARGIN_MS = 500;
const RETRY_DELAYS_MS = [1500, 3000];
/**
 * Ticks after the clock is back, for liveness: a lease granted under the furthest-forward clock
 * outlives real time by that offset, then the retries of the ticks it refused, then five more.
 */
const QUIET_TICKS =
  Math.ceil((Math.max(...OFFSETS_MS) + TIMEOUT_MS + MARGIN_MS + RETRY_DELAYS_MS.at(-1)!) / TICK_EVERY_MS) + 5;
/** While the strobe runs: ticks until it is done, at most this many. */
const MAX_STROBE_TICKS = 120;

export const dbClockStrobe: Scenario = {
  name: 'db-clock-strobe',
  catalogue: 'F6 T2 T3',
  proves:
    'A database clock bumped back and forth by seconds across restarts never breaks fence order or the fenced register, and every tick runs once the clock is back.',
  async run(context) {
    const clock = await databaseClock(context);
    if (isNotRun(clock)) return clock;
    const fenced = fleetJob(`strobe-fenced-${context.runId}`, {
      register: RegisterVariant.FENCED,
      leaseMarginMs: MARGIN_MS,
    });
    const unfenced = fleetJob(`strobe-unfenced-${context.runId}`, {
      register: RegisterVariant.UNFENCED,
      leaseMarginMs: MARGIN_MS,
    });
    const outcome = await runFleet(
      context,
      { jobs: [fenced, unfenced], regions: TWO_REGIONS, maxWorkersPerRegion: 5 },
      async (fleet) => {
        const { random } = fleet;
        const deliver = (ticks: readonly Date[], startMs: number): ScheduleItem[] =>
          ticks.flatMap((tick, index) =>
            [fenced, unfenced].flatMap((job) =>
              deliverEachRegion(startMs + index * TICK_EVERY_MS, tick, {
                job: job.job,
                regions: TWO_REGIONS,
                timeoutMs: TIMEOUT_MS,
                delayMs: () => random.int(0, 30),
                body: () => ({ bodyMs: random.int(200, 800), registerDelayMs: random.int(100, 400) }),
              }),
            ),
          );
        let offsetNow = 0;
        try {
          // Phase 1: one bump after another (each waits for the previous restart, so they never
          // race) while ticks keep arriving until the last restart is done.
          const strobe = (async () => {
            await sleep(BUMP_EVERY_MS);
            for (const [index, offset] of OFFSETS_MS.entries()) {
              if (index > 0) await sleep(BUMP_EVERY_MS);
              await restartWithClock(fleet.history, clock, offset);
              offsetNow = offset;
            }
          })();
          const ticks = await planTicks(context.environment, MAX_STROBE_TICKS, TICK_EVERY_MS);
          await Promise.all([
            strobe,
            runFleetSchedule(fleet, {
              items: deliver(ticks, 300),
              lambdaRetry: { delaysMs: RETRY_DELAYS_MS },
              settleTimeoutMs: 60_000,
              stopWhen: strobe,
            }),
          ]);
          // Phase 2: the clock is back; every tick from here on must run or be superseded.
          const quiet = await planTicks(context.environment, QUIET_TICKS, TICK_EVERY_MS);
          await runFleetSchedule(fleet, {
            items: deliver(quiet, 300),
            lambdaRetry: { delaysMs: RETRY_DELAYS_MS },
            settleTimeoutMs: 60_000,
          });
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
