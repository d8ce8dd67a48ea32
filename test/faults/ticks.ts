/**
 * Ticks and deliveries for compressed schedules: each tick is a distinct time the database
 * accepts (near its own now), delivered about when it is due on the observer clock.
 */
import type { FleetEnvironment } from '../../src/fleet/environment.js';
import { schedulerEvent } from '../../src/fleet/events.js';
import { Delivery } from '../../src/fleet/history.js';
import type { BodyPlan } from '../../src/fleet/messages.js';
import type { ScheduleItem } from '../../src/fleet/run-schedule.js';

/** `count` ticks `everyMs` apart, the first at the database's now rounded up to a second. */
export async function planTicks(environment: FleetEnvironment, count: number, everyMs: number): Promise<Date[]> {
  const now = await environment.databaseNow();
  const first = Math.ceil(now.getTime() / 1000) * 1000;
  return Array.from({ length: count }, (_, index) => new Date(first + index * everyMs));
}

export interface Delivered {
  readonly job: string;
  readonly region: string;
  readonly tick: Date;
  readonly delivery: Delivery;
  readonly body: BodyPlan;
  readonly timeoutMs: number;
  /** @default a Scheduler event for the tick */
  readonly event?: unknown;
  /** The tick as the checker should file it. @default tick */
  readonly filedTick?: Date | null;
}

export function deliverAt(atMs: number, delivered: Delivered): ScheduleItem {
  const { job, region, tick, delivery, body, timeoutMs } = delivered;
  return {
    kind: 'invoke',
    atMs,
    request: {
      job,
      region,
      event: delivered.event ?? schedulerEvent(tick),
      tick: delivered.filedTick === undefined ? tick : delivered.filedTick,
      delivery,
      timeoutMs,
      body,
    },
  };
}

export interface EachRegion<R extends { readonly name: string }> {
  readonly job: string;
  readonly regions: readonly R[];
  readonly timeoutMs: number;
  /** When the region's copy arrives after the tick is due (seeded jitter, a head start). */
  readonly delayMs: (region: R) => number;
  readonly body: (region: R) => BodyPlan;
  /** @default a Scheduler event for the tick */
  readonly event?: (region: R) => unknown;
}

/**
 * One scheduled delivery of `tick` per region, as each region's own scheduler would send it.
 * Per region, the event, the delay and then the body are drawn, in that order, so a seed replays.
 */
export function deliverEachRegion<R extends { readonly name: string }>(
  atMs: number,
  tick: Date,
  spec: EachRegion<R>,
): ScheduleItem[] {
  return spec.regions.map((region) => {
    const event = spec.event?.(region);
    const delayMs = spec.delayMs(region);
    return deliverAt(atMs + delayMs, {
      job: spec.job,
      region: region.name,
      tick,
      delivery: Delivery.SCHEDULED,
      body: spec.body(region),
      timeoutMs: spec.timeoutMs,
      ...(event === undefined ? {} : { event }),
    });
  });
}
