/**
 * F7: the invokers' wall clocks are skewed by minutes (the fleet's clock-skew preload moves
 * `Date` in a region's workers; the monotonic clock stays true). Each tick goes to a baseline
 * region and to regions five minutes behind and ahead. Each tick has a favoured region, which is
 * invoked first; the others only once its body has started, and the next tick only once this
 * one's invocations ended (awaited conditions, not a head start a loaded machine can eat), so
 * every region, skewed ones included, must win its ticks.
 * The results must be the baseline's: the guard reads only the database clock and monotonic
 * durations.
 */
import { scheduledRuleEvent } from '../../../src/fleet/events.js';
import { RegisterVariant } from '../../../src/fleet/history.js';
import type { ScheduleItem } from '../../../src/fleet/run-schedule.js';
import { fleetJob, fleetReport, runFleet, runFleetSchedule } from '../fleet-run.js';
import type { FaultViolation, Scenario } from '../scenario.js';
import { deliverEachRegion, planTicks } from '../ticks.js';

const MINUTE = 60_000;
const REGIONS = [
  { name: 'us-east-1', clockSkewMs: 0 },
  { name: 'eu-west-1', clockSkewMs: -5 * MINUTE },
  { name: 'ap-southeast-2', clockSkewMs: 5 * MINUTE },
] as const;
const TICK_EVERY_MS = 800;
const TIMEOUT_MS = 2000;
/** A worker's measured offset may differ from its skew by its start-up time, not by minutes. */
const OFFSET_TOLERANCE_MS = 5000;

export const invokerSkew: Scenario = {
  name: 'invoker-skew',
  catalogue: 'F7 T1',
  proves:
    'Invokers whose clocks are five minutes behind or ahead win and lose ticks exactly like the baseline: one run per tick, no overlap, fences rising.',
  async run(context) {
    const job = fleetJob(`skew-${context.runId}`, { register: RegisterVariant.FENCED, tickGranularityMs: 100 });
    const count = context.profile === 'quick' ? 3 : 9;
    const extra: FaultViolation[] = [];
    const notes: string[] = [];
    const outcome = await runFleet(
      context,
      { jobs: [job], regions: REGIONS.map((region) => ({ ...region, workers: 1 })) },
      async (fleet) => {
        const { random, supervisor } = fleet;
        for (const region of REGIONS) {
          const offsets = supervisor.workers().filter((worker) => worker.region === region.name);
          for (const worker of offsets) {
            const off = worker.clockOffsetMs ?? Number.NaN;
            if (!(Math.abs(off - region.clockSkewMs) < OFFSET_TOLERANCE_MS)) {
              extra.push({
                invariant: 'not-exercised',
                job: job.job,
                message: `a ${region.name} worker's clock is ${off} ms off, not the ${region.clockSkewMs} ms skew asked for`,
              });
            }
          }
        }
        const ticks = await planTicks(context.environment, count, TICK_EVERY_MS);
        const items: ScheduleItem[] = [];
        // Each tick once the previous one's invocations have ended, so no tick can overtake another
        // however slowly this machine runs them (every tick must run: strict liveness below).
        let previous: Promise<unknown> = Promise.resolve();
        ticks.forEach((tick, index) => {
          const favoured = REGIONS[index % REGIONS.length]?.name;
          const requests = deliverEachRegion(200 + index * TICK_EVERY_MS, tick, {
            job: job.job,
            regions: REGIONS,
            timeoutMs: TIMEOUT_MS,
            // Skewed regions get scheduled rules' events: their `time` comes from the event, never the clock.
            event: (region) =>
              region.clockSkewMs === 0 ? undefined : scheduledRuleEvent(tick, region.name, random.int(0, 99)),
            delayMs: () => 0,
            body: () => ({ bodyMs: random.int(100, 250), registerDelayMs: random.int(0, 30) }),
          }).flatMap((item) => (item.kind === 'invoke' ? [item.request] : []));
          const after = previous;
          const done = (async () => {
            await after;
            const first = await supervisor.dispatch(requests.find((request) => request.region === favoured)!);
            if (first) await Promise.race([first.bodyStarted, first.done]);
            const others = requests.filter((request) => request.region !== favoured).map((r) => supervisor.invoke(r));
            await Promise.all([first?.done, ...others]);
          })();
          previous = done.catch(() => undefined);
          items.push({ kind: 'step', atMs: 200 + index * TICK_EVERY_MS, run: () => done });
        });
        await runFleetSchedule(fleet, { items, settleTimeoutMs: 20_000 });
      },
    );
    const wins = new Map<string, number>(REGIONS.map((region) => [region.name, 0]));
    for (const record of outcome.history.invocations) {
      if (record.outcome === 'ran') wins.set(record.region, (wins.get(record.region) ?? 0) + 1);
    }
    notes.push(`runs by region: ${[...wins].map(([region, n]) => `${region} ${n}`).join(', ')}`);
    for (const region of REGIONS) {
      if (region.clockSkewMs !== 0 && wins.get(region.name) === 0) {
        extra.push({
          invariant: 'not-exercised',
          job: job.job,
          message: `the region skewed by ${region.clockSkewMs / MINUTE} min never won a tick, so its clock was never put to the test`,
        });
      }
    }
    // The fault is the skew each invocation in a skewed region ran under.
    const skewed = outcome.history.invocations.filter((record) => record.region !== 'us-east-1').length;
    return fleetReport(outcome, { strictLiveness: true, extraViolations: extra, notes, extraFaults: skewed });
  },
};
