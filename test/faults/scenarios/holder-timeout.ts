/**
 * F9: holders outlive their invocation's deadline. One job leaves the deadline to the
 * supervisor, which SIGKILLs the worker as Lambda's hard timeout does (no release: the lease
 * ends by itself); the other sets middy's early timeout, so the body is told to stop and the
 * guard records the failure, keeps the lease to its end and ends the worker (the body may still
 * be running, and would resume after a freeze).
 * Either way Lambda's retry (same request id) must run the tick once the lease has ended, and
 * the other region's copies are refused meanwhile.
 */
import { InvocationOutcome, RegisterVariant } from '../../../src/fleet/history.js';
import type { ScheduleItem } from '../../../src/fleet/run-schedule.js';
import { countOutcome, fleetJob, fleetReport, runFleet, runFleetSchedule, TWO_REGIONS } from '../fleet-run.js';
import type { Scenario } from '../scenario.js';
import { deliverEachRegion, planTicks } from '../ticks.js';

/**
 * Long enough that a retry's claim and body fit before the guard's deadline (the release reserve,
 * 0.55 s, before Lambda's) on a loaded machine, a fresh worker's cold start included.
 */
const TIMEOUT_MS = 4500;
const RETRY_DELAY_MS = 1500;
/** Each tick's retries end before the next tick: every tick must run. */
const TICK_EVERY_MS = 3 * (TIMEOUT_MS + RETRY_DELAY_MS);
const OVERRUN_BODY = { bodyMs: 2 * TIMEOUT_MS, registerDelayMs: 400 };
const SHORT_BODY = { bodyMs: 200, registerDelayMs: 20 };
/** us-east-1's copy arrives first and holds the lease (and overruns); eu-west-1's contends while it does. */
const holder = (region: { readonly name: string }): boolean => region.name === 'us-east-1';

export const holderTimeout: Scenario = {
  name: 'holder-timeout',
  catalogue: 'F9 T6 C1 D3',
  proves:
    'A holder killed at its deadline, or abandoned by middy’s early timeout, blocks the job only until its lease ends; Lambda’s retry then runs the tick once.',
  async run(context) {
    const killed = fleetJob(`kill-${context.runId}`, { register: RegisterVariant.FENCED });
    const aborted = fleetJob(`abort-${context.runId}`, { register: RegisterVariant.FENCED, timeoutEarlyMs: 300 });
    const count = context.profile === 'quick' ? 2 : 5;
    const outcome = await runFleet(context, { jobs: [killed, aborted], regions: TWO_REGIONS }, async (fleet) => {
      const { random } = fleet;
      const ticks = await planTicks(context.environment, count, TICK_EVERY_MS);
      const items: ScheduleItem[] = [];
      ticks.forEach((tick, index) => {
        const at = 200 + index * TICK_EVERY_MS;
        for (const job of [killed, aborted]) {
          // The first tick always overruns; later ones by chance.
          const overrun = index === 0 || random.chance(0.6);
          items.push(
            ...deliverEachRegion(at, tick, {
              job: job.job,
              regions: TWO_REGIONS,
              timeoutMs: TIMEOUT_MS,
              delayMs: (region) => (holder(region) ? 0 : 150 + random.int(0, 50)),
              body: (region) => (holder(region) && overrun ? OVERRUN_BODY : SHORT_BODY),
            }),
          );
        }
      });
      await runFleetSchedule(fleet, {
        items,
        // Lambda retries after about a minute; compressed, but still past the lease a holder keeps:
        // its remaining time (under 4.5 s) plus the 0.5 s margin, counted from its claim.
        lambdaRetry: { delaysMs: [RETRY_DELAY_MS, RETRY_DELAY_MS], body: () => SHORT_BODY },
        settleTimeoutMs: 20_000,
      });
    });
    // The deadline kills count themselves; after middy's early timeout the guard records the failure
    // and ends the worker (its body may still run), so those show as the other job's killed runs.
    const abandoned = countOutcome(outcome.history, InvocationOutcome.KILLED, aborted.job);
    return fleetReport(outcome, { strictLiveness: true, extraFaults: abandoned });
  },
};
