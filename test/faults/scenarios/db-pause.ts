/**
 * F2 and B6: the database is frozen (SIGSTOP) for half a lease, a lease and three leases, each
 * time while a holder is mid-job and more ticks keep arriving. Claims and writes queue up inside
 * the frozen server and commit late, after their callers gave up; the holder is killed at its
 * deadline. Nothing may overlap, no tick may run twice, and every tick runs once it is thawed.
 *
 * Each pause waits for the next holder to be inside its body (not a fixed delay after the
 * delivery, which a loaded machine outruns), and the ticks after the last pause outlast a lease
 * that a late-committing claim left plus Lambda's retries, so the verdict does not depend on how
 * fast this machine is.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InvocationOutcome, observerNow, RegisterVariant } from '../../../src/fleet/history.js';
import type { ScheduleItem } from '../../../src/fleet/run-schedule.js';
import { countOutcome, fleetJob, fleetReport, runFleet, runFleetSchedule, TWO_REGIONS } from '../fleet-run.js';
import type { FaultViolation, Scenario } from '../scenario.js';
import { deliverEachRegion, planTicks } from '../ticks.js';

const TIMEOUT_MS = 2000;
const MARGIN_MS = 500;
/** What a holder's lease lasts: its remaining time plus the margin. */
const LEASE_MS = TIMEOUT_MS + MARGIN_MS;
const TICK_EVERY_MS = 1500;
/** Into a tick's holder's body: after its claim, inside its register read-modify-write. */
const PAUSE_AFTER_MS = 250;
const RETRY_DELAYS_MS = [1500, 3000];
/** A pause that sees no body start within this (every attempt failed) freezes anyway, and is reported. */
const BODY_WAIT_MS = TIMEOUT_MS + RETRY_DELAYS_MS.reduce((sum, ms) => sum + ms + TIMEOUT_MS, 0);
/** After the last pause: a late-committed lease, the retries of the ticks it refused, and two more. */
const QUIET_TICKS = Math.ceil((LEASE_MS + BODY_WAIT_MS) / TICK_EVERY_MS) + 2;

export const dbPause: Scenario = {
  name: 'db-pause',
  catalogue: 'F2 B3 B6',
  proves:
    'A database frozen for ½, 1 and 3 leases while a holder runs, with late commits after thawing, gives no overlap and no double run, and every tick runs afterwards.',
  async run(context) {
    if (!context.environment.throwaway)
      return { notRun: 'database faults need the throwaway server (LEASE_GUARD_MYSQL_URL is set)' };
    const job = fleetJob(`dbpause-${context.runId}`, { register: RegisterVariant.FENCED, leaseMarginMs: MARGIN_MS });
    const pauses = context.profile === 'quick' ? [LEASE_MS / 2] : [LEASE_MS / 2, LEASE_MS, 3 * LEASE_MS];
    const extra: FaultViolation[] = [];
    const pauseStarts: number[] = [];
    // Pauses waiting for the next body to start; each is woken by the first one after it began waiting.
    const waiting = new Set<() => void>();
    const nextBody = (): Promise<void> =>
      new Promise<void>((resolve) => {
        waiting.add(resolve);
      });
    const outcome = await runFleet(
      context,
      { jobs: [job], regions: TWO_REGIONS, maxWorkersPerRegion: 5 },
      async (fleet) => {
        const { random, nemeses } = fleet;
        // Each pause gets its own tick, the ticks its pause spans, and two quiet ticks after it.
        const pauseTicks: number[] = [];
        let count = 0;
        for (const pause of pauses) {
          pauseTicks.push(count);
          count += Math.ceil(pause / TICK_EVERY_MS) + 2;
        }
        count += QUIET_TICKS;
        const ticks = await planTicks(context.environment, count, TICK_EVERY_MS);
        const items: ScheduleItem[] = [];
        ticks.forEach((tick, index) => {
          const at = 300 + index * TICK_EVERY_MS;
          const pause = pauses[pauseTicks.indexOf(index)];
          if (pause !== undefined) {
            items.push({
              kind: 'step',
              atMs: at,
              run: async () => {
                const timeout = new AbortController();
                await Promise.race([
                  nextBody(),
                  sleep(BODY_WAIT_MS, undefined, { signal: timeout.signal }).catch(() => {}),
                ]);
                timeout.abort();
                await sleep(PAUSE_AFTER_MS);
                pauseStarts.push(observerNow());
                return nemeses.pauseDatabase(pause);
              },
            });
          }
          items.push(
            ...deliverEachRegion(at, tick, {
              job: job.job,
              regions: TWO_REGIONS,
              timeoutMs: TIMEOUT_MS,
              delayMs: (region) => (region.name === 'us-east-1' ? 0 : 20 + random.int(0, 20)),
              body: () => ({ bodyMs: 1200, registerDelayMs: 400 }),
            }),
          );
        });
        await runFleetSchedule(fleet, {
          items,
          lambdaRetry: { delaysMs: RETRY_DELAYS_MS },
          settleTimeoutMs: 40_000,
          onDispatched: (dispatched) => {
            void dispatched.bodyStarted.then((fence) => {
              if (fence === null) return;
              for (const wake of waiting) wake();
              waiting.clear();
            });
          },
        });
      },
    );
    // A pause proves something only if it caught a holder inside its body.
    const holders = outcome.history.invocations.filter((record) => record.bodyStartObs !== null);
    pauseStarts.forEach((start, index) => {
      const caught = holders.some(
        (record) => (record.bodyStartObs as number) < start && (record.bodyEndObs ?? record.endObs) > start,
      );
      if (!caught) {
        extra.push({ invariant: 'not-exercised', job: job.job, message: `pause ${index + 1} froze no holder mid-job` });
      }
    });
    const killed = countOutcome(outcome.history, InvocationOutcome.KILLED);
    const unavailable = countOutcome(outcome.history, InvocationOutcome.UNAVAILABLE);
    return fleetReport(outcome, {
      extraViolations: extra,
      notes: [
        `pauses ${pauses.map((ms) => `${ms} ms`).join(', ')}; ${killed} killed at deadline, ${unavailable} failed closed`,
      ],
    });
  },
};
