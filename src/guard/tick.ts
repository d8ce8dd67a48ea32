import type { ResolvedLeaseGuardOptions } from './options.js';

export type TickDerivation =
  /** `hint`: the event has no tick, but something in it looks like a misplaced or misspelled one. */
  | { readonly kind: 'tick'; readonly tick: Date | null; readonly hint?: string }
  | { readonly kind: 'invalid'; readonly detail: string }
  | { readonly kind: 'replay'; readonly detail: string };

// ISO 8601 with an explicit zone, as EventBridge writes it; Date.parse alone accepts far too much.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

function parseTime(value: unknown, field: string): Date | string {
  if (typeof value !== 'string' || !ISO_TIME.test(value)) {
    return `${field} must be an ISO 8601 time with a zone, got ${JSON.stringify(value)?.slice(0, 60) ?? typeof value}`;
  }
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? `${field} is not a valid time: ${JSON.stringify(value)}` : date;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The schedule tick an event is for. `auto` reads, in order: an archive replay (never runs by
 * default), EventBridge Scheduler input `scheduledTime` (the CDK construct always sends
 * `<aws.scheduler.scheduled-time>` there), a scheduled rule's `time` floored to the granularity.
 * Anything else is lease-only (no tick). A tick field that is present but malformed is invalid.
 */
export function deriveTick(
  options: Pick<ResolvedLeaseGuardOptions, 'tick' | 'tickGranularityMs'>,
  event: unknown,
): TickDerivation {
  const mode = options.tick;
  if (mode === 'off') return { kind: 'tick', tick: null };
  if (typeof mode === 'function') {
    let value: unknown;
    try {
      value = mode(event);
    } catch (error) {
      return { kind: 'invalid', detail: `the tick function threw: ${(error as Error)?.message ?? String(error)}` };
    }
    if (value === null || value === undefined) return { kind: 'tick', tick: null };
    const date = value instanceof Date ? value : typeof value === 'number' ? new Date(value) : parseTime(value, 'tick');
    if (typeof date === 'string') return { kind: 'invalid', detail: date };
    if (Number.isNaN(date.getTime())) return { kind: 'invalid', detail: 'the tick function returned an invalid Date' };
    return { kind: 'tick', tick: date };
  }
  if (!isRecord(event)) return { kind: 'tick', tick: null };
  if ('replay-name' in event) {
    return { kind: 'replay', detail: `an EventBridge archive replay (${String(event['replay-name']).slice(0, 64)})` };
  }
  if ('scheduledTime' in event) {
    const date = parseTime(event.scheduledTime, 'scheduledTime');
    return typeof date === 'string' ? { kind: 'invalid', detail: date } : { kind: 'tick', tick: date };
  }
  if (event.source === 'aws.events' && event['detail-type'] === 'Scheduled Event') {
    const date = parseTime(event.time, 'time');
    if (typeof date === 'string') return { kind: 'invalid', detail: date };
    const granularity = options.tickGranularityMs;
    return { kind: 'tick', tick: new Date(Math.floor(date.getTime() / granularity) * granularity) };
  }
  const hint = misplacedTick(event);
  return hint === undefined ? { kind: 'tick', tick: null } : { kind: 'tick', tick: null, hint };
}

const TICK_LIKE = /^(?:scheduled[_-]?time|scheduled[_-]?at|schedule[_-]?time|tick)$/i;

/** A field that looks like a tick where `auto` does not read one: wrapped in `detail`, misspelled, or a bare `time`. */
function misplacedTick(event: Record<string, unknown>): string | undefined {
  const found = (record: Record<string, unknown>, prefix: string): string | undefined => {
    const key = Object.keys(record).find((name) => TICK_LIKE.test(name));
    return key === undefined ? undefined : `${prefix}${key}`;
  };
  const field =
    found(event, '') ??
    (isRecord(event.detail) ? found(event.detail, 'detail.') : undefined) ??
    // Every EventBridge envelope has a `time`; only a bare one looks like a misplaced tick.
    ('time' in event && !('detail-type' in event) ? 'time' : undefined);
  if (field === undefined) return undefined;
  return `the event has ${field} but no tick lease-guard reads (top-level scheduledTime, or a scheduled rule's time): it runs lease-only. Pass the scheduled time as the top-level scheduledTime, give a tick function, or set requireTick to refuse such events`;
}
