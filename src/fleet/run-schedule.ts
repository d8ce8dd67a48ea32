/**
 * Plays a timed schedule against a fleet: invocations and fault steps at offsets from the start
 * (observer clock), and Lambda's asynchronous retries of failed invocations (same request id,
 * after a delay). Bounded: the schedule is finite, retries are capped, and the wait for the last
 * invocations has a deadline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InvocationOutcome, type InvocationRecord, observerNow } from './history.js';
import type { BodyPlan } from './messages.js';
import type { Dispatched, InvocationRequest, Supervisor } from './supervisor.js';

export type ScheduleItem =
  | { readonly kind: 'invoke'; readonly atMs: number; readonly request: InvocationRequest }
  /** A fault or any other action; it runs in the background, the schedule does not wait for it. */
  | { readonly kind: 'step'; readonly atMs: number; readonly run: () => void | Promise<void> }
  /**
   * Holds every later item until `until` settles: a condition (the previous tick's deliveries
   * answered, a holder inside its body), so the order a scenario means does not depend on load.
   */
  | { readonly kind: 'wait'; readonly atMs: number; readonly until: () => Promise<unknown> };

export interface LambdaRetryPolicy {
  /** Delay before each retry; Lambda's are about 1 and 2 minutes, compressed here. Empty: no retries. */
  readonly delaysMs: readonly number[];
  /** The body a retry runs. @default the first attempt's */
  readonly body?: (request: InvocationRequest) => BodyPlan;
  /** The timeout a retry runs with. @default the first attempt's */
  readonly timeoutMs?: number;
}

export interface RunScheduleOptions {
  readonly supervisor: Supervisor;
  readonly items: readonly ScheduleItem[];
  /** @default no retries */
  readonly lambdaRetry?: LambdaRetryPolicy;
  /** After the last item, wait at most this long for invocations and retries to end. @default 60000 */
  readonly settleTimeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Once this settles, no further scheduled item starts; invocations under way and their retries
   * still finish. For a schedule that lasts as long as a fault does, however long that takes.
   */
  readonly stopWhen?: Promise<unknown>;
  readonly onRecord?: (record: InvocationRecord, request: InvocationRequest) => void;
  /** Each invocation once a worker took it: a fault step can wait for its body to start. */
  readonly onDispatched?: (dispatched: Dispatched, request: InvocationRequest) => void;
  /** An invocation for a dark region: it was never delivered. */
  readonly onDropped?: (request: InvocationRequest) => void;
  /** Each delivery (a retry is one of its own) once it is over: answered, dropped or not dispatched. */
  readonly onEnded?: (request: InvocationRequest) => void;
}

export interface ScheduleRun {
  /** The observer time the schedule's offsets count from. */
  readonly startObs: number;
  /** Steps and dispatches that threw (a fault that could not run, a worker that could not start). */
  readonly errors: readonly unknown[];
}

/** Outcomes after which Lambda's asynchronous invocation retries the event. A skip is a success. */
export const RETRIED_OUTCOMES: ReadonlySet<InvocationOutcome> = new Set([
  InvocationOutcome.FAILED,
  InvocationOutcome.KILLED,
  InvocationOutcome.UNAVAILABLE,
]);

export async function runSchedule(options: RunScheduleOptions): Promise<ScheduleRun> {
  const { supervisor, signal } = options;
  const retryDelays = options.lambdaRetry?.delaysMs ?? [];
  const pending = new Set<Promise<void>>();
  const errors: unknown[] = [];
  const startObs = observerNow();

  function track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      if (!signal?.aborted) errors.push(error);
    });
    pending.add(tracked);
    tracked.finally(() => pending.delete(tracked));
  }

  async function deliver(request: InvocationRequest): Promise<void> {
    let record: InvocationRecord;
    try {
      const dispatched = await supervisor.dispatch(request);
      if (!dispatched) {
        options.onDropped?.(request);
        return;
      }
      options.onDispatched?.(dispatched, request);
      record = await dispatched.done;
      options.onRecord?.(record, request);
    } finally {
      options.onEnded?.(request);
    }
    const attempt = request.attempt ?? 1;
    const delay = retryDelays[attempt - 1];
    if (delay === undefined || !RETRIED_OUTCOMES.has(record.outcome) || signal?.aborted) return;
    const retry: InvocationRequest = { ...request, attempt: attempt + 1, requestId: record.requestId };
    track(
      sleep(delay, undefined, { signal }).then(() =>
        deliver({
          ...retry,
          body: options.lambdaRetry?.body?.(retry) ?? request.body,
          timeoutMs: options.lambdaRetry?.timeoutMs ?? request.timeoutMs,
        }),
      ),
    );
  }

  let stopped = false;
  options.stopWhen?.then(
    () => (stopped = true),
    () => (stopped = true),
  );
  const items = [...options.items].sort((a, b) => a.atMs - b.atMs);
  for (const item of items) {
    const wait = startObs + item.atMs - observerNow();
    try {
      if (wait > 0) await sleep(wait, undefined, { signal });
    } catch {
      break; // aborted
    }
    if (signal?.aborted || stopped) break;
    if (item.kind === 'wait') {
      const aborted = new Promise<void>((resolve) =>
        signal?.addEventListener('abort', () => resolve(), { once: true }),
      );
      await Promise.race([item.until().catch((error: unknown) => void errors.push(error)), aborted]);
      continue;
    }
    track(item.kind === 'invoke' ? deliver(item.request) : Promise.resolve().then(item.run));
  }

  const deadline = observerNow() + (options.settleTimeoutMs ?? 60_000);
  while (pending.size > 0 && !signal?.aborted) {
    const left = deadline - observerNow();
    if (left <= 0) {
      errors.push(new Error(`${pending.size} invocation(s) or step(s) still pending after the settle timeout`));
      break;
    }
    const timeout = new AbortController();
    await Promise.race([
      Promise.allSettled([...pending]),
      sleep(left, undefined, { signal: timeout.signal }).catch(() => undefined),
    ]);
    timeout.abort();
  }
  return { startObs, errors };
}
