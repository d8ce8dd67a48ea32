/**
 * F1 and C2: the database is killed (SIGKILL) at seeded random moments, so before a claim,
 * mid-job or during a release, and restarted on the same data after a seeded 0–3 s. Claims fail
 * closed while it is down; committed leases survive the crash; Lambda's retries bring the ticks
 * back. Safety always, liveness after each restart.
 */
import { InvocationOutcome, RegisterVariant } from '../../../src/fleet/history.js';
import type { ScheduleItem } from '../../../src/fleet/run-schedule.js';
import { countOutcome, fleetJob, fleetReport, runFleet, runFleetSchedule, TWO_REGIONS } from '../fleet-run.js';
import type { Scenario } from '../scenario.js';
import { deliverEachRegion, planTicks } from '../ticks.js';

const TIMEOUT_MS = 2000;
const TICK_EVERY_MS = 1500;
const MAX_DOWN_MS = 3000;

export const dbCrash: Scenario = {
  name: 'db-crash',
  catalogue: 'F1 C2',
  proves:
    'A database killed before a claim, mid-job or during a release and restarted 0–3 s later never lets two bodies run at once or a tick run twice; every tick runs after the restart.',
  async run(context) {
    if (!context.environment.throwaway)
      return { notRun: 'database faults need the throwaway server (LEASE_GUARD_MYSQL_URL is set)' };
    const job = fleetJob(`dbcrash-${context.runId}`, { register: RegisterVariant.FENCED });
    const crashes = context.profile === 'quick' ? 1 : 4;
    const notes: string[] = [];
    const outcome = await runFleet(
      context,
      { jobs: [job], regions: TWO_REGIONS, maxWorkersPerRegion: 5 },
      async (fleet) => {
        const { random, nemeses } = fleet;
        // A crash every third tick (restart included), then three quiet ticks.
        const count = crashes * 3 + 3;
        const ticks = await planTicks(context.environment, count, TICK_EVERY_MS);
        const items: ScheduleItem[] = [];
        ticks.forEach((tick, index) => {
          const at = 300 + index * TICK_EVERY_MS;
          if (index % 3 === 1 && index < crashes * 3) {
            // Anywhere in the tick: before the claims, inside a body, or around a release.
            const offset = random.int(-100, 900);
            const downMs = random.int(0, MAX_DOWN_MS);
            notes.push(`crash at tick ${index} ${offset >= 0 ? '+' : ''}${offset} ms, down ${downMs} ms`);
            items.push({ kind: 'step', atMs: at + offset, run: () => nemeses.crashDatabase(downMs) });
          }
          items.push(
            ...deliverEachRegion(at, tick, {
              job: job.job,
              regions: TWO_REGIONS,
              timeoutMs: TIMEOUT_MS,
              delayMs: () => random.int(0, 30),
              body: () => ({ bodyMs: random.int(300, 800), registerDelayMs: random.int(50, 200) }),
            }),
          );
        });
        await runFleetSchedule(fleet, { items, lambdaRetry: { delaysMs: [2000, 4000] }, settleTimeoutMs: 60_000 });
      },
    );
    const unavailable = countOutcome(outcome.history, InvocationOutcome.UNAVAILABLE);
    notes.push(`${unavailable} invocation(s) failed closed while the database was down`);
    return fleetReport(outcome, { notes });
  },
};
