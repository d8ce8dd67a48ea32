/**
 * The fleet's append-only history, Jepsen style: one record per invocation and one per nemesis,
 * every time on the supervisor's monotonic clock (`performance.now()` when it received the
 * worker's message), so the checker never compares two processes' clocks.
 */

/** How an invocation ended, as the invoker saw it. */
export const InvocationOutcome = {
  /** The body ran and the handler returned. */
  RAN: 'ran',
  /** The guard skipped the body; `reason` says why. */
  SKIPPED: 'skipped',
  /** The handler threw (the body, or anything but the lease being unknown). */
  FAILED: 'failed',
  /** The process died: SIGKILL at the invocation's deadline (as Lambda does), or a crash. */
  KILLED: 'killed',
  /** The lease's state could not be known, so the body did not run (fail closed). */
  UNAVAILABLE: 'unavailable',
} as const;
export type InvocationOutcome = (typeof InvocationOutcome)[keyof typeof InvocationOutcome];

/** Why an event reached the function: the checker holds each kind to its own rule. */
export const Delivery = {
  /** The schedule's own delivery (one per region per tick). */
  SCHEDULED: 'scheduled',
  /** The same tick again at about the same time (EventBridge or the async queue delivering twice). */
  DUPLICATE: 'duplicate',
  /** The same tick again, much later (a late retry or a slow queue), still inside `maxTickAge`. */
  LATE: 'late',
  /** An EventBridge archive replay (`replay-name`): must never run. */
  REPLAY: 'replay',
  /** A tick older than `maxTickAge`: must never run. */
  STALE: 'stale',
  /** A tick far in the future, as someone with invoke rights could send: must never run. */
  FORGED: 'forged',
} as const;
export type Delivery = (typeof Delivery)[keyof typeof Delivery];

/** Deliveries that must never run the body. */
export const FORBIDDEN_DELIVERIES: ReadonlySet<Delivery> = new Set([Delivery.REPLAY, Delivery.STALE, Delivery.FORGED]);

export const RegisterVariant = {
  /** Read, wait, write: a stale holder's write wins blindly. */
  UNFENCED: 'unfenced',
  /** The read announces the fence and the write is `… WHERE max_fence <= :fence`. */
  FENCED: 'fenced',
} as const;
export type RegisterVariant = (typeof RegisterVariant)[keyof typeof RegisterVariant];

export const RegisterWrite = {
  /** The write was acknowledged: the element must be in the register. */
  WRITTEN: 'written',
  /** The fence check refused it: the element must not be in the register. */
  REJECTED: 'rejected',
  /** No answer (the body failed or the process died): the element may or may not be there. */
  UNKNOWN: 'unknown',
} as const;
export type RegisterWrite = (typeof RegisterWrite)[keyof typeof RegisterWrite];

export interface InvocationRecord {
  readonly invocationId: string;
  readonly job: string;
  readonly region: string;
  /** The tick the event is for (ISO), or null in lease-only mode. */
  readonly tick: string | null;
  /** 1 for the first delivery, 2 and 3 for Lambda's retries (same request id). */
  readonly attempt: number;
  readonly requestId: string;
  readonly delivery: Delivery;
  /** The worker process that ran it. */
  readonly pid: number;
  readonly outcome: InvocationOutcome;
  /** The skip reason, the error's name, or why the process died; null when it ran. */
  readonly reason: string | null;
  /** The fencing token of a won claim, or null. */
  readonly fence: number | null;
  readonly holder: string | null;
  /** Claim attempts the guard made (retries of transient failures included), when it reported them. */
  readonly claimAttempts: number | null;
  /** The worker received the invocation. */
  readonly startObs: number;
  /** The handler answered, or the process was seen dead. */
  readonly endObs: number;
  /** The body started (the claim was won), or null. */
  readonly bodyStartObs: number | null;
  /** The body finished; null when it never started or the process died inside it. */
  readonly bodyEndObs: number | null;
  /** The register element this run wrote (its invocation id), and what became of the write. */
  readonly register: { readonly element: string; readonly write: RegisterWrite } | null;
}

/** A fault the harness injected, with when it was in force. */
export interface NemesisRecord {
  readonly kind: string;
  /** What it hit: a region, a pid, `database`, `data-api`. */
  readonly target: string;
  readonly detail: string | null;
  readonly startObs: number;
  /** When it healed; null while in force. */
  readonly endObs: number | null;
}

export interface FleetJob {
  readonly job: string;
  readonly mode: 'per-tick' | 'affinity';
  readonly register: RegisterVariant | null;
}

export interface History {
  readonly jobs: readonly FleetJob[];
  readonly invocations: readonly InvocationRecord[];
  readonly nemeses: readonly NemesisRecord[];
  /** The register's final contents per job, read after the run. */
  readonly registers: Readonly<Record<string, readonly string[]>>;
}

export interface HistoryRecorder {
  /** The history so far (a snapshot, safe to keep). */
  snapshot(): History;
  recordInvocation(record: InvocationRecord): void;
  /** Records a fault coming into force; call the returned function when it heals. */
  beginNemesis(kind: string, target: string, detail?: string): () => void;
  recordRegister(job: string, elements: readonly string[]): void;
}

/** The supervisor's observer clock. */
export function observerNow(): number {
  return performance.now();
}

export function createHistory(jobs: readonly FleetJob[]): HistoryRecorder {
  const invocations: InvocationRecord[] = [];
  const nemeses: { record: NemesisRecord }[] = [];
  const registers: Record<string, readonly string[]> = {};
  return {
    snapshot() {
      return {
        jobs: [...jobs],
        invocations: [...invocations],
        nemeses: nemeses.map((entry) => entry.record),
        registers: { ...registers },
      };
    },
    recordInvocation(record) {
      invocations.push(record);
    },
    beginNemesis(kind, target, detail) {
      const entry: { record: NemesisRecord } = {
        record: { kind, target, detail: detail ?? null, startObs: observerNow(), endObs: null },
      };
      nemeses.push(entry);
      return function endNemesis() {
        if (entry.record.endObs === null) entry.record = { ...entry.record, endObs: observerNow() };
      };
    },
    recordRegister(job, elements) {
      registers[job] = [...elements];
    },
  };
}
