/**
 * Short words for what happened to an invocation and when a tick was, shared by the demo's
 * progress lines, its timeline table and its HTML chart. Plain text: no colours, no escapes.
 */
import { Delivery, InvocationOutcome, type InvocationRecord } from './history.js';

const DELIVERY_WORDS: Readonly<Record<Delivery, string>> = {
  [Delivery.SCHEDULED]: '',
  [Delivery.DUPLICATE]: 'dup',
  [Delivery.LATE]: 'late',
  [Delivery.REPLAY]: 'replay',
  [Delivery.STALE]: 'stale',
  [Delivery.FORGED]: 'forged',
};

/** `ran #4`, `skip held`, `killed mid-run #3`, `failed (Error)`, `unavailable`. */
export function outcomeLabel(record: InvocationRecord): string {
  switch (record.outcome) {
    case InvocationOutcome.RAN:
      return `ran #${record.fence}`;
    case InvocationOutcome.SKIPPED:
      return `skip ${record.reason}`;
    case InvocationOutcome.KILLED:
      // The guard ends the environment of a body it gave up (exit 1); Lambda's hard timeout is a SIGKILL.
      if (record.reason?.startsWith('exit') && record.bodyStartObs !== null) return `given up mid-run #${record.fence}`;
      if (record.reason !== 'timeout') return `killed (${record.reason})`;
      return record.bodyStartObs === null ? 'killed at deadline' : `killed mid-run #${record.fence}`;
    case InvocationOutcome.FAILED:
      return `failed (${record.reason?.split(':')[0] ?? 'error'})`;
    case InvocationOutcome.UNAVAILABLE:
      return 'unavailable';
  }
}

/** How the event came: `retry 2`, `dup`, `late`, `replay`, or nothing for the schedule's own delivery. */
export function deliveryLabel(record: InvocationRecord): string {
  return record.attempt > 1 ? `retry ${record.attempt}` : DELIVERY_WORDS[record.delivery];
}

/** One invocation in a few words, e.g. `late: skip tick-done` or `ran #7 (3 claims)`. */
export function invocationLabel(record: InvocationRecord): string {
  const how = deliveryLabel(record);
  const tries = (record.claimAttempts ?? 1) > 1 ? ` (${record.claimAttempts} claims)` : '';
  return `${how ? `${how}: ` : ''}${outcomeLabel(record)}${tries}`;
}

/** `09:31` for minute ticks, `09:31:05` for second ticks (UTC). */
export function tickLabel(tick: Date, granularityMs: number): string {
  const time = tick.toISOString().slice(11, 19);
  return granularityMs >= 60_000 ? time.slice(0, 5) : time;
}

export function signedMinutes(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return `${minutes > 0 ? '+' : ''}${minutes} min`;
}
