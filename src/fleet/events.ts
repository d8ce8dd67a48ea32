/**
 * The events a scheduled function receives, as EventBridge sends them: Scheduler's input (the
 * GuardedSchedule construct puts `<aws.scheduler.scheduled-time>` in `scheduledTime`), a
 * scheduled rule's event (its `time` a little past the tick), and an archive replay of one.
 */
import { randomUUID } from 'node:crypto';

export interface SchedulerEvent {
  readonly scheduledTime: string;
}

export interface ScheduledRuleEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': 'Scheduled Event';
  readonly source: 'aws.events';
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, never>;
  readonly 'replay-name'?: string;
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z');
}

export function schedulerEvent(tick: Date): SchedulerEvent {
  return { scheduledTime: isoSeconds(tick) };
}

/** A rule fires somewhere inside its minute: `time` is the tick plus `lateByMs`; the guard floors it. */
export function scheduledRuleEvent(tick: Date, region: string, lateByMs = 0): ScheduledRuleEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date(tick.getTime() + lateByMs).toISOString(),
    region,
    resources: [`arn:aws:events:${region}:000000000000:rule/fleet-schedule`],
    detail: {},
  };
}

/** The same event replayed from an EventBridge archive. */
export function replayedEvent(event: ScheduledRuleEvent, replayName = 'fleet-archive-replay'): ScheduledRuleEvent {
  return { ...event, id: randomUUID(), 'replay-name': replayName };
}
