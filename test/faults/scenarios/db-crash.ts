/**
 * F1 and C2: the database is killed (SIGKILL) at seeded random moments, so before a claim,
 * mid-job or during a release, and restarted on the same data after a seeded 0–3 s. Claims fail
 * closed while it is down; committed leases survive the crash; Lambda's retries bring the ticks
 * back. Safety always, liveness after each restart.
 */
import { Delivery, InvocationOutcome, RegisterVariant } from '../../../src/fleet/history.js';
import { runSchedule, type ScheduleItem } from '../../../src/fleet/run-schedule.js';
import { fleetJob, fleetReport, runFleet } from '../fleet-run.js';
import type { Scenario } from '../scenario.js';
import { deliverAt, planTicks } from '../ticks.js';

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
      {
        jobs: [job],
        regions: [
          { name: 'us-east-1', workers: 2 },
          { name: 'eu-west-1', workers: 2 },
        ],
        maxWorkersPerRegion: 5,
      },
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
          for (const region of ['us-east-1', 'eu-west-1']) {
            items.push(
              deliverAt(at + random.int(0, 30), {
                job: job.job,
                region,
                tick,
                delivery: Delivery.SCHEDULED,
                body: { bodyMs: random.int(300, 800), registerDelayMs: random.int(50, 200) },
                timeoutMs: TIMEOUT_MS,
              }),
            );
          }
        });
        const run = await runSchedule({
          supervisor: fleet.supervisor,
          items,
          lambdaRetry: { delaysMs: [2000, 4000] },
          settleTimeoutMs: 60_000,
        });
        fleet.harnessErrors.push(...run.errors);
      },
    );
    const unavailable = outcome.history.invocations.filter(
      (record) => record.outcome === InvocationOutcome.UNAVAILABLE,
    ).length;
    notes.push(`${unavailable} invocation(s) failed closed while the database was down`);
    return fleetReport(outcome, { notes });
  },
};
