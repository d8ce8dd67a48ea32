/**
 * The history checker: pure functions from a fleet history to what held and what broke. Each
 * invariant is one function, so a test can hand it a history that breaks exactly that one.
 */
import {
  type FleetJob,
  FORBIDDEN_DELIVERIES,
  type History,
  InvocationOutcome,
  type InvocationRecord,
  RegisterVariant,
  RegisterWrite,
} from './history.js';

export const Invariant = {
  /** Two bodies of one job ran at the same time (observer time). */
  OVERLAP: 'overlap',
  /** One tick ran to success twice. */
  TICK_TWICE: 'tick-twice',
  /** A later holder got a fencing token not above the one before it. */
  FENCE_ORDER: 'fence-order',
  /** A tick never ran and no later tick ran either. */
  LIVENESS: 'liveness',
  /** A stale, forged or replayed event ran the body. */
  FORBIDDEN_RUN: 'forbidden-run',
  /** The fenced register lost, duplicated or invented an element. */
  REGISTER: 'register',
} as const;
export type Invariant = (typeof Invariant)[keyof typeof Invariant];

export interface Violation {
  readonly invariant: Invariant;
  readonly job: string;
  readonly message: string;
  readonly invocationIds: readonly string[];
}

export interface Overlap {
  readonly first: string;
  readonly second: string;
  /** How long both bodies ran at once, in observer milliseconds. */
  readonly overlapMs: number;
}

export interface FenceRegression {
  readonly previous: { readonly invocationId: string; readonly fence: number | null };
  readonly next: { readonly invocationId: string; readonly fence: number | null };
}

export interface Failover {
  readonly from: string;
  readonly to: string;
  /** The new owner's first run: its tick and invocation. */
  readonly tick: string | null;
  readonly invocationId: string;
  readonly atObs: number;
}

export interface Liveness {
  /** Ticks that ran to success at least once. */
  readonly ran: number;
  /** Ticks that never ran, but a later tick did (the completed high-water mark skips them by design). */
  readonly superseded: readonly string[];
  /** Ticks that never ran, with no later tick run either. */
  readonly missed: readonly string[];
}

export interface RegisterReport {
  readonly variant: RegisterVariant;
  /** Writes acknowledged, refused by the fence, and without an answer. */
  readonly written: number;
  readonly rejected: number;
  readonly unknown: number;
  /** Acknowledged writes missing from the register: lost updates. */
  readonly lost: readonly string[];
  /** Elements present more than once. */
  readonly duplicated: readonly string[];
  /** Elements present that no run wrote, or whose write was refused. */
  readonly phantom: readonly string[];
}

export interface JobReport {
  readonly job: string;
  readonly mode: FleetJob['mode'];
  /** Distinct ticks delivered by legitimate events (not stale, forged or replayed). */
  readonly ticks: number;
  readonly invocations: number;
  /** Invocations that ran the body to success. */
  readonly runs: number;
  readonly outcomes: Readonly<Record<InvocationOutcome, number>>;
  /** Skips by reason. */
  readonly skips: Readonly<Record<string, number>>;
  readonly overlaps: readonly Overlap[];
  readonly ticksRunTwice: readonly { readonly tick: string; readonly invocationIds: readonly string[] }[];
  /** Holders (bodies started) in observer order and whether their tokens strictly increase. */
  readonly fences: { readonly holders: number; readonly regressions: readonly FenceRegression[] };
  /** Owner changes of an affinity job; empty for per-tick jobs. */
  readonly failovers: readonly Failover[];
  readonly liveness: Liveness;
  /** Stale, forged or replayed deliveries whose body started. */
  readonly forbiddenRuns: readonly string[];
  /** The protected register, when the job used one and its final contents were recorded. */
  readonly register: RegisterReport | null;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly jobs: readonly JobReport[];
  readonly violations: readonly Violation[];
}

export interface CheckOptions {
  /**
   * Hold ticks to liveness. Turn off for histories whose faults never healed.
   * @default true
   */
  readonly liveness?: boolean;
}

/** Checks every invariant for every job in the history. */
export function checkHistory(history: History, options: CheckOptions = {}): CheckReport {
  const jobs = history.jobs.map((job) =>
    checkJob(
      job,
      history.invocations.filter((record) => record.job === job.job),
      history.registers[job.job],
    ),
  );
  const violations = jobs.flatMap((report) => violationsOf(report, options));
  return { ok: violations.length === 0, jobs, violations };
}

export function checkJob(
  job: FleetJob,
  records: readonly InvocationRecord[],
  registerContents?: readonly string[],
): JobReport {
  const outcomes = Object.fromEntries(Object.values(InvocationOutcome).map((outcome) => [outcome, 0])) as Record<
    InvocationOutcome,
    number
  >;
  const skips: Record<string, number> = {};
  for (const record of records) {
    outcomes[record.outcome]++;
    if (record.outcome === InvocationOutcome.SKIPPED) {
      const reason = record.reason ?? 'unknown';
      skips[reason] = (skips[reason] ?? 0) + 1;
    }
  }
  const liveness = findLiveness(records);
  return {
    job: job.job,
    mode: job.mode,
    ticks: liveness.ran + liveness.superseded.length + liveness.missed.length,
    invocations: records.length,
    runs: outcomes.ran,
    outcomes,
    skips,
    overlaps: findOverlaps(records),
    ticksRunTwice: findTicksRunTwice(records),
    fences: { holders: holdersInOrder(records).length, regressions: findFenceRegressions(records) },
    failovers: job.mode === 'affinity' ? findFailovers(records) : [],
    liveness,
    forbiddenRuns: findForbiddenRuns(records),
    register: job.register && registerContents ? checkRegister(job.register, records, registerContents) : null,
  };
}

/** Invocations whose body started (won claims), in observer order. */
export function holdersInOrder(records: readonly InvocationRecord[]): InvocationRecord[] {
  return records
    .filter((record) => record.bodyStartObs !== null)
    .sort((a, b) => (a.bodyStartObs as number) - (b.bodyStartObs as number));
}

/** A body runs from its start until it said it ended, or until its process was seen dead. */
function bodyEnd(record: InvocationRecord): number {
  return record.bodyEndObs ?? record.endObs;
}

/**
 * Pairs of bodies that ran at the same time, successful or not: mutual exclusion promises it for
 * every body, and a killed body counts until its process was seen dead.
 */
export function findOverlaps(records: readonly InvocationRecord[]): Overlap[] {
  const holders = holdersInOrder(records);
  const overlaps: Overlap[] = [];
  holders.forEach((second, index) => {
    const start = second.bodyStartObs as number;
    for (const first of holders.slice(0, index)) {
      const end = Math.min(bodyEnd(first), bodyEnd(second));
      if (bodyEnd(first) > start) {
        overlaps.push({ first: first.invocationId, second: second.invocationId, overlapMs: end - start });
      }
    }
  });
  return overlaps;
}

export function findTicksRunTwice(
  records: readonly InvocationRecord[],
): { readonly tick: string; readonly invocationIds: readonly string[] }[] {
  const byTick = new Map<string, string[]>();
  for (const record of records) {
    if (record.outcome !== InvocationOutcome.RAN || record.tick === null) continue;
    byTick.set(record.tick, [...(byTick.get(record.tick) ?? []), record.invocationId]);
  }
  return [...byTick]
    .filter(([, ids]) => ids.length > 1)
    .map(([tick, invocationIds]) => ({ tick, invocationIds }))
    .sort((a, b) => Date.parse(a.tick) - Date.parse(b.tick));
}

export function findFenceRegressions(records: readonly InvocationRecord[]): FenceRegression[] {
  const holders = holdersInOrder(records);
  const regressions: FenceRegression[] = [];
  for (let i = 1; i < holders.length; i++) {
    const previous = holders[i - 1] as InvocationRecord;
    const next = holders[i] as InvocationRecord;
    if (previous.fence === null || next.fence === null || next.fence <= previous.fence) {
      regressions.push({
        previous: { invocationId: previous.invocationId, fence: previous.fence },
        next: { invocationId: next.invocationId, fence: next.fence },
      });
    }
  }
  return regressions;
}

export function findFailovers(records: readonly InvocationRecord[]): Failover[] {
  const holders = holdersInOrder(records);
  const failovers: Failover[] = [];
  for (let i = 1; i < holders.length; i++) {
    const previous = holders[i - 1] as InvocationRecord;
    const next = holders[i] as InvocationRecord;
    if (next.region !== previous.region) {
      failovers.push({
        from: previous.region,
        to: next.region,
        tick: next.tick,
        invocationId: next.invocationId,
        atObs: next.bodyStartObs as number,
      });
    }
  }
  return failovers;
}

export function findLiveness(records: readonly InvocationRecord[]): Liveness {
  const legitimate = records.filter((record) => record.tick !== null && !FORBIDDEN_DELIVERIES.has(record.delivery));
  const ticks = [...new Set(legitimate.map((record) => record.tick as string))].sort(
    (a, b) => Date.parse(a) - Date.parse(b),
  );
  const ran = new Set(
    legitimate.filter((record) => record.outcome === InvocationOutcome.RAN).map((record) => record.tick as string),
  );
  const lastRan = Math.max(...[...ran].map((tick) => Date.parse(tick)), Number.NEGATIVE_INFINITY);
  const open = ticks.filter((tick) => !ran.has(tick));
  return {
    ran: ran.size,
    superseded: open.filter((tick) => Date.parse(tick) < lastRan),
    missed: open.filter((tick) => Date.parse(tick) > lastRan),
  };
}

export function findForbiddenRuns(records: readonly InvocationRecord[]): string[] {
  return records
    .filter((record) => FORBIDDEN_DELIVERIES.has(record.delivery) && record.bodyStartObs !== null)
    .map((record) => record.invocationId);
}

/**
 * The set-full check over the register: every acknowledged write present exactly once, nothing
 * present that was refused or never written. Writes without an answer may go either way.
 */
export function checkRegister(
  variant: RegisterVariant,
  records: readonly InvocationRecord[],
  contents: readonly string[],
): RegisterReport {
  const writes = new Map(
    records.flatMap((record) => (record.register ? [[record.register.element, record.register.write] as const] : [])),
  );
  const counts = new Map<string, number>();
  for (const element of contents) counts.set(element, (counts.get(element) ?? 0) + 1);
  const count = (write: RegisterWrite): number => [...writes.values()].filter((value) => value === write).length;
  return {
    variant,
    written: count(RegisterWrite.WRITTEN),
    rejected: count(RegisterWrite.REJECTED),
    unknown: count(RegisterWrite.UNKNOWN),
    lost: [...writes].filter(([element, write]) => write === RegisterWrite.WRITTEN && !counts.has(element)).map(first),
    duplicated: [...counts].filter(([, n]) => n > 1).map(first),
    phantom: [...counts.keys()].filter((element) => {
      const write = writes.get(element);
      return write === undefined || write === RegisterWrite.REJECTED;
    }),
  };
}

function first<T>(pair: readonly [T, unknown]): T {
  return pair[0];
}

export function registerCorruption(report: RegisterReport): number {
  return report.lost.length + report.duplicated.length + report.phantom.length;
}

function violationsOf(report: JobReport, options: CheckOptions): Violation[] {
  const { job } = report;
  const violations: Violation[] = [];
  for (const overlap of report.overlaps) {
    violations.push({
      invariant: Invariant.OVERLAP,
      job,
      message: `${overlap.first} and ${overlap.second} ran at the same time for ${overlap.overlapMs.toFixed(1)} ms`,
      invocationIds: [overlap.first, overlap.second],
    });
  }
  for (const twice of report.ticksRunTwice) {
    violations.push({
      invariant: Invariant.TICK_TWICE,
      job,
      message: `tick ${twice.tick} ran to success ${twice.invocationIds.length} times`,
      invocationIds: twice.invocationIds,
    });
  }
  for (const regression of report.fences.regressions) {
    violations.push({
      invariant: Invariant.FENCE_ORDER,
      job,
      message: `fence ${regression.next.fence} of ${regression.next.invocationId} does not exceed fence ${regression.previous.fence} of ${regression.previous.invocationId} before it`,
      invocationIds: [regression.previous.invocationId, regression.next.invocationId],
    });
  }
  if (options.liveness !== false) {
    for (const tick of report.liveness.missed) {
      violations.push({
        invariant: Invariant.LIVENESS,
        job,
        message: `tick ${tick} never ran, and no later tick ran either`,
        invocationIds: [],
      });
    }
  }
  if (report.forbiddenRuns.length > 0) {
    violations.push({
      invariant: Invariant.FORBIDDEN_RUN,
      job,
      message: `${report.forbiddenRuns.length} stale, forged or replayed event(s) ran the body`,
      invocationIds: report.forbiddenRuns,
    });
  }
  // Unfenced corruption is what the fenced variant exists to prevent: reported, not a violation.
  if (report.register?.variant === RegisterVariant.FENCED && registerCorruption(report.register) > 0) {
    const { lost, duplicated, phantom } = report.register;
    violations.push({
      invariant: Invariant.REGISTER,
      job,
      message: `the fenced register lost ${lost.length}, duplicated ${duplicated.length} and invented ${phantom.length} element(s)`,
      invocationIds: [...lost, ...duplicated, ...phantom],
    });
  }
  return violations;
}
