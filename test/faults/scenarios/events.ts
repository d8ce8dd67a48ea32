/**
 * L4 and out-of-order delivery: beside each tick's real deliveries (Scheduler input in one region,
 * a scheduled rule's event in the other), the fleet receives an archive replay, a stale tick, a
 * forged future tick, malformed times (one carrying SQL), and ticks out of order. None of the
 * forbidden ones may run, each must be skipped for its own reason, and every real tick runs once.
 */
import { replayedEvent, scheduledRuleEvent } from '../../../src/fleet/events.js';
import { Delivery, type InvocationRecord } from '../../../src/fleet/history.js';
import type { ScheduleItem } from '../../../src/fleet/run-schedule.js';
import type { InvocationRequest } from '../../../src/fleet/supervisor.js';
import { GuardSkipReason } from '../../../src/guard/types.js';
import { SkipReason } from '../../../src/lease/lease-store.js';
import { fleetJob, fleetReport, runFleet, runFleetSchedule, TWO_REGIONS } from '../fleet-run.js';
import type { FaultViolation, Scenario } from '../scenario.js';
import { deliverAt, planTicks } from '../ticks.js';

const SECOND = 1000;
const TICK_EVERY_MS = 800;
const TIMEOUT_MS = 2000;
const MAX_TICK_AGE_MS = 60 * SECOND;
/** Rules' `time` is floored to this; ticks are whole multiples of it. */
const GRANULARITY_MS = 100;

export const events: Scenario = {
  name: 'events',
  catalogue: 'L4 D2 D4 D5',
  proves:
    'Replayed, stale, forged and malformed events never run and each is skipped for its own reason; late and out-of-order ticks run at most once, and every real tick runs.',
  async run(context) {
    const job = fleetJob(`events-${context.runId}`, {
      maxTickAgeMs: MAX_TICK_AGE_MS,
      tickGranularityMs: GRANULARITY_MS,
    });
    const count = context.profile === 'quick' ? 4 : 8;
    const expected = new Map<InvocationRequest, string>();
    const mismatched: FaultViolation[] = [];
    const outcome = await runFleet(context, { jobs: [job], regions: TWO_REGIONS }, async (fleet) => {
      const { random } = fleet;
      const ticks = await planTicks(context.environment, count, TICK_EVERY_MS);
      const now = ticks[0] as Date;
      const body = () => ({ bodyMs: random.int(100, 250), registerDelayMs: 0 });
      const items: ScheduleItem[] = [];
      const send = (
        atMs: number,
        region: string,
        tick: Date,
        delivery: Delivery,
        options: { event?: unknown; filedTick?: Date | null; reason?: string } = {},
      ): void => {
        const item = deliverAt(atMs, {
          job: job.job,
          region,
          tick,
          delivery,
          body: body(),
          timeoutMs: TIMEOUT_MS,
          ...(options.event === undefined ? {} : { event: options.event }),
          ...(options.filedTick === undefined ? {} : { filedTick: options.filedTick }),
        });
        items.push(item);
        if (options.reason && item.kind === 'invoke') expected.set(item.request, options.reason);
      };
      // Out of order: the middle tick's successor arrives first, so the middle tick is superseded.
      const swapped = Math.floor(count / 2);
      ticks.forEach((tick, index) => {
        const at = 200 + index * TICK_EVERY_MS;
        const deliveredTick =
          index === swapped ? (ticks[index + 1] ?? tick) : index === swapped + 1 ? (ticks[swapped] as Date) : tick;
        send(at, 'us-east-1', deliveredTick, Delivery.SCHEDULED);
        const rule = scheduledRuleEvent(deliveredTick, 'eu-west-1', random.int(0, GRANULARITY_MS - 1));
        send(at + random.int(0, 15), 'eu-west-1', deliveredTick, Delivery.SCHEDULED, { event: rule });
        // Late: an earlier tick again, after its run; the completed high-water mark refuses it.
        if (index >= 2)
          send(at + 300, random.pick(['us-east-1', 'eu-west-1']), ticks[index - 2] as Date, Delivery.LATE, {
            reason: SkipReason.TICK_DONE,
          });
        const hostile = random.pick(['replay', 'stale', 'forged', 'malformed', 'sql'] as const);
        const region = random.pick(['us-east-1', 'eu-west-1']);
        const hostileAt = at + random.int(50, 400);
        if (hostile === 'replay') {
          send(hostileAt, region, tick, Delivery.REPLAY, {
            event: replayedEvent(scheduledRuleEvent(tick, region)),
            reason: GuardSkipReason.REPLAY,
          });
        } else if (hostile === 'stale') {
          const stale = new Date(now.getTime() - 10 * MAX_TICK_AGE_MS);
          send(hostileAt, region, stale, Delivery.STALE, { reason: SkipReason.STALE_TICK });
        } else if (hostile === 'forged') {
          const forged = new Date(now.getTime() + 24 * 3600 * SECOND);
          send(hostileAt, region, forged, Delivery.FORGED, { reason: SkipReason.FUTURE_TICK });
        } else {
          const time = hostile === 'sql' ? "2026-01-01T00:00:00Z'; UPDATE lease_guard SET fence = 0; --" : 'yesterday';
          send(hostileAt, region, tick, Delivery.FORGED, {
            event: { scheduledTime: time },
            filedTick: null,
            reason: GuardSkipReason.INVALID_EVENT,
          });
        }
      });
      await runFleetSchedule(fleet, {
        items,
        settleTimeoutMs: 20_000,
        onRecord(record: InvocationRecord, request: InvocationRequest) {
          const reason = expected.get(request);
          if (reason !== undefined && record.reason !== reason) {
            mismatched.push({
              invariant: 'skip-reason',
              job: job.job,
              message: `${record.invocationId} (${record.delivery}) ended ${record.outcome} (${record.reason ?? 'no reason'}), expected a skip for ${reason}`,
            });
          }
        },
      });
    });
    return fleetReport(outcome, {
      extraViolations: mismatched,
      notes: [`${expected.size} deliveries had to be skipped for a named reason`],
    });
  },
};
