/**
 * Short words for what happened to an invocation and when a tick was, shared by the demo's
 * progress lines, its timeline table and its HTML chart. Plain text: no colours, no escapes.
 */
import { Delivery, InvocationOutcome, type InvocationRecord, type NemesisRecord } from './history.js';

const DELIVERY_WORDS: Readonly<Record<Delivery, string>> = {
  [Delivery.SCHEDULED]: '',
  [Delivery.DUPLICATE]: 'dup',
  [Delivery.LATE]: 'late',
  [Delivery.REPLAY]: 'replay',
  [Delivery.STALE]: 'stale',
  [Delivery.FORGED]: 'forged',
};

/** A KILLED record the guard ended on purpose (exit 1 once it gave the body up), not Lambda's SIGKILL. */
export function isGivenUp(record: InvocationRecord): boolean {
  return (
    record.outcome === InvocationOutcome.KILLED && !!record.reason?.startsWith('exit') && record.bodyStartObs !== null
  );
}

/** The word for KILLED records, as the console says it: `given up mid-run`, `killed`, or both. */
export function killedWord(records: readonly InvocationRecord[]): string {
  const killed = records.filter((record) => record.outcome === InvocationOutcome.KILLED);
  const givenUp = killed.filter(isGivenUp).length;
  if (givenUp > 0 && givenUp === killed.length) return 'given up mid-run';
  return givenUp > 0 ? 'given up mid-run or killed' : 'killed';
}

const NEMESIS_WORDS: Readonly<Record<string, string>> = {
  'data-api-lost-response': 'claim answer lost',
  'data-api-resuming': 'Aurora resuming',
  'data-api-unavailable': 'Data API unavailable',
  'data-api-throttling': 'Data API throttling',
  'data-api-statement-timeout': 'statement timeout',
  'data-api-hang': 'Data API hangs',
  'data-api-latency': 'Data API slow',
  'data-api-switches': 'Data API switches',
  'pause-database': 'database paused',
  'crash-database': 'database crashed',
  'pause-worker': 'worker frozen',
  'clock-skew': 'clock skew',
  'replication-stopped': 'replication stopped',
  'primary-killed': 'primary killed',
  'replica-promoted': 'replica promoted',
};

/** A fault in a few words for people: `database paused`, `us-east-1 dark`, not the internal id. */
export function nemesisLabel(nemesis: Pick<NemesisRecord, 'kind' | 'target'>): string {
  if (nemesis.kind === 'region-dark') return `${nemesis.target} dark`;
  return NEMESIS_WORDS[nemesis.kind] ?? nemesis.kind.replaceAll('-', ' ');
}

/** `ran #4`, `skip held`, `killed mid-run #3`, `failed (Error)`, `unavailable`. */
export function outcomeLabel(record: InvocationRecord): string {
  switch (record.outcome) {
    case InvocationOutcome.RAN:
      return `ran #${record.fence}`;
    case InvocationOutcome.SKIPPED:
      return `skip ${record.reason}`;
    case InvocationOutcome.KILLED:
      // The guard ends the environment of a body it gave up (exit 1); Lambda's hard timeout is a SIGKILL.
      if (isGivenUp(record)) return `given up mid-run #${record.fence}`;
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
