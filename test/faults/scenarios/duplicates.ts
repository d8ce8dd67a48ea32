/**
 * L1 and L3: every tick is delivered to three regions at once, twice to one of them, once more
 * after the run finished, and the last tick's first holder is killed at its deadline so Lambda's
 * retry (same request id) must run it. Halfway through, the Data API switches to counting changed
 * rows and to no generatedFields (F12), so the claim's verdict takes the read-back path.
 */
import { Delivery, RegisterVariant } from '../../../src/fleet/history.js';
import type { ScheduleItem } from '../../../src/fleet/run-schedule.js';
import type { InvocationRequest } from '../../../src/fleet/supervisor.js';
import { DEFAULT_SWITCHES } from '../../../src/local/data-api/index.js';
import { type FleetOutcome, fleetJob, fleetReport, runFleet, runFleetSchedule } from '../fleet-run.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { deliverAt, planTicks } from '../ticks.js';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'] as const;
const TICK_EVERY_MS = 1000;
const LATE_AFTER_MS = 700;
const FIRST_AT_MS = 300;
/**
 * Every copy but the planned holder's gets a timeout no run here comes near, even on a loaded
 * machine (a bound, not a verdict): only the planned holder meets its deadline, and no claim gives
 * up for want of time.
 */
const RELAXED_MS = 20_000;

/** The duplicates run, against the real claim or (endpoint given) the negative control's broken one. */
export async function runDuplicates(
  context: ScenarioContext,
  options: { job: string; endpoint?: string },
): Promise<FleetOutcome> {
  const { environment } = context;
  const job = fleetJob(options.job, { register: RegisterVariant.FENCED });
  const quick = context.profile === 'quick';
  const count = quick ? 3 : 10;
  // The killed holder's lease (its timeout plus the margin) delays the last tick's retry: keep it short when quick.
  const timeoutMs = quick ? 1500 : 2500;
  try {
    return await runFleet(
      context,
      {
        jobs: [job],
        regions: REGIONS.map((name) => ({ name, workers: (name === 'us-east-1' ? 2 : 1) + (quick ? 0 : 1) })),
        maxWorkersPerRegion: 4,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      },
      async (fleet) => {
        const { random } = fleet;
        const ticks = await planTicks(environment, count, TICK_EVERY_MS);
        const body = () => ({ bodyMs: random.int(150, 300), registerDelayMs: random.int(0, 40) });
        // The order the scenario means is held by conditions, not by the clock: a loaded machine
        // delays deliveries, and a tick's copies arriving while the previous tick still runs would
        // be skipped as held, a lost tick the scenario never meant.
        const ended = new Map<InvocationRequest, () => void>();
        const bodyStarted = new Map<InvocationRequest, (fence: number | null) => void>();
        const endOf = (request: InvocationRequest): Promise<void> =>
          new Promise((resolve) => ended.set(request, resolve));
        const items: ScheduleItem[] = [];
        const waitFor = (atMs: number, promises: readonly Promise<unknown>[]) =>
          items.push({ kind: 'wait', atMs, until: () => Promise.all(promises) });
        let previousTick: Promise<unknown>[] = [];
        ticks.forEach((tick, index) => {
          const at = FIRST_AT_MS + index * TICK_EVERY_MS;
          const last = index === ticks.length - 1;
          const thisTick: Promise<unknown>[] = [];
          const deliver = (offset: number, region: string, delivery: Delivery, plan = body(), timeout = RELAXED_MS) => {
            const item = deliverAt(at + offset, {
              job: job.job,
              region,
              tick,
              delivery,
              body: plan,
              timeoutMs: timeout,
            });
            items.push(item);
            return (item as Extract<ScheduleItem, { kind: 'invoke' }>).request;
          };
          // Each tick after the previous one's copies, its late duplicate included, are over.
          waitFor(at - 150, previousTick);
          if (last) {
            // D3: the first holder outlives its deadline and is killed; the others arrive while it holds.
            const holder = deliver(
              -150,
              'us-east-1',
              Delivery.SCHEDULED,
              { bodyMs: timeoutMs + 1000, registerDelayMs: 0 },
              timeoutMs,
            );
            const inBody = new Promise((resolve) => bodyStarted.set(holder, resolve));
            waitFor(at, [inBody]);
          }
          for (const region of REGIONS) {
            if (!(last && region === 'us-east-1'))
              thisTick.push(endOf(deliver(random.int(0, 20), region, Delivery.SCHEDULED)));
          }
          thisTick.push(endOf(deliver(random.int(0, 30), 'us-east-1', Delivery.DUPLICATE)));
          // After the run: once the tick's copies (but the killed holder) are over.
          waitFor(at + LATE_AFTER_MS, [...thisTick]);
          thisTick.push(endOf(deliver(LATE_AFTER_MS, random.pick(REGIONS), Delivery.LATE)));
          previousTick = thisTick;
        });
        items.push({
          kind: 'step',
          atMs: FIRST_AT_MS + Math.floor(count / 2) * TICK_EVERY_MS - 100,
          run: () => {
            environment.dataApi.setSwitches({ rowsCount: 'changed', generatedFieldsOnUpdate: 'none' });
            // In force until the run ends; the history shows from when.
            fleet.history.beginNemesis('data-api-switches', 'data-api', 'changed rows, no generatedFields');
          },
        });
        await runFleetSchedule(fleet, {
          items,
          // Past the killed holder's lease (its timeout plus the margin), as Lambda's retries come.
          lambdaRetry: { delaysMs: [timeoutMs + 1000, timeoutMs + 2000], body: () => body(), timeoutMs: RELAXED_MS },
          // The holder's body started, or it never will (its claim failed): bodyStarted settles either way.
          onDispatched: (dispatched, request) => void dispatched.bodyStarted.then(bodyStarted.get(request)),
          onEnded: (request) => ended.get(request)?.(),
          settleTimeoutMs: 30_000,
        });
      },
    );
  } finally {
    environment.dataApi.setSwitches(DEFAULT_SWITCHES);
  }
}

export const duplicates: Scenario = {
  name: 'duplicates',
  catalogue: 'L1 L3 F12',
  proves:
    'Concurrent, same-region, after-completion and Lambda-retry duplicates run each tick once, never two at a time, fences rising; matched or changed rows, with or without generatedFields.',
  async run(context) {
    return fleetReport(await runDuplicates(context, { job: `dup-${context.runId}` }), { strictLiveness: true });
  },
};
