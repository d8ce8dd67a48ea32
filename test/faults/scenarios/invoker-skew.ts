/**
 * F7: the invokers' wall clocks are skewed by minutes (the fleet's clock-skew preload moves
 * `Date` in a region's workers; the monotonic clock stays true). Each tick goes to a baseline
 * region and to regions five minutes behind and ahead, one of them a little earlier so every
 * region wins some ticks. The results must be the baseline's: the guard reads only the database
 * clock and monotonic durations.
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
/** The tick's favoured region is invoked this much earlier, so it usually wins. */
const HEAD_START_MS = 80;
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
        ticks.forEach((tick, index) => {
          const at = 200 + index * TICK_EVERY_MS;
          const favoured = REGIONS[index % REGIONS.length]?.name;
          items.push(
            ...deliverEachRegion(at, tick, {
              job: job.job,
              regions: REGIONS,
              timeoutMs: TIMEOUT_MS,
              // Skewed regions get scheduled rules' events: their `time` comes from the event, never the clock.
              event: (region) =>
                region.clockSkewMs === 0 ? undefined : scheduledRuleEvent(tick, region.name, random.int(0, 99)),
              delayMs: (region) => (region.name === favoured ? 0 : HEAD_START_MS) + random.int(0, 10),
              body: () => ({ bodyMs: random.int(100, 250), registerDelayMs: random.int(0, 30) }),
            }),
          );
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
