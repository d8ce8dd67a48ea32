/**
 * One fleet run for a scenario: history, supervisor and nemeses from src/fleet over the shared
 * environment; the scenario drives it; then the registers are read and the history is checked.
 * Everything the run started is stopped and healed, whatever the driver did.
 */
import { type CheckReport, checkHistory, Invariant, registerCorruption } from '../../src/fleet/checker.js';
import type { FleetEnvironment } from '../../src/fleet/environment.js';
import {
  createHistory,
  Delivery,
  type History,
  type HistoryRecorder,
  InvocationOutcome,
} from '../../src/fleet/history.js';
import type { FleetJobConfig } from '../../src/fleet/messages.js';
import { createNemeses, type Nemeses } from '../../src/fleet/nemeses.js';
import { createRandom, type Random } from '../../src/fleet/random.js';
import { readRegister, resetRegister } from '../../src/fleet/register.js';
import { type RunScheduleOptions, runSchedule, type ScheduleRun } from '../../src/fleet/run-schedule.js';
import { createSupervisor, type RegionSpec, type Supervisor } from '../../src/fleet/supervisor.js';
import type { FaultViolation, ScenarioContext, ScenarioReport } from './scenario.js';

export interface FleetSpec {
  readonly jobs: readonly FleetJobConfig[];
  readonly regions: readonly RegionSpec[];
  /** Another Data API endpoint for the workers (the negative control's broken claim). */
  readonly endpoint?: string;
  readonly maxWorkersPerRegion?: number;
}

export interface Fleet {
  readonly environment: FleetEnvironment;
  readonly history: HistoryRecorder;
  readonly supervisor: Supervisor;
  readonly nemeses: Nemeses;
  readonly random: Random;
  /** Failures of the harness itself (a dispatch or a fault step that threw): never a pass. */
  readonly harnessErrors: unknown[];
}

export interface FleetOutcome {
  readonly history: History;
  readonly check: CheckReport;
  readonly harnessErrors: readonly unknown[];
}

/** Retries fast enough for a compressed schedule; attempts still time out well inside a deadline. */
export const FAST_RETRY = { baseDelayMs: 20, maxDelayMs: 300, attemptTimeoutMs: 1000, reserveMs: 200 } as const;

/** Two regions of two workers: contention across regions, and a spare worker in each for retries. */
export const TWO_REGIONS: readonly RegionSpec[] = [
  { name: 'us-east-1', workers: 2 },
  { name: 'eu-west-1', workers: 2 },
];

/** A per-tick job tuned for seconds-long schedules: a short margin, so a dead holder's lease ends soon. */
export function fleetJob(job: string, overrides: Partial<FleetJobConfig> = {}): FleetJobConfig {
  return { job, leaseMarginMs: 500, retry: FAST_RETRY, releaseTimeoutMs: 300, ...overrides };
}

export async function runFleet(
  context: ScenarioContext,
  spec: FleetSpec,
  drive: (fleet: Fleet) => Promise<void>,
): Promise<FleetOutcome> {
  const { environment } = context;
  const history = createHistory(
    spec.jobs.map((job) => ({ job: job.job, mode: job.mode ?? 'per-tick', register: job.register ?? null })),
  );
  for (const job of spec.jobs) if (job.register) await resetRegister(environment.executor, job.job);
  const supervisor = createSupervisor({
    env: { ...environment.workerEnv, ...(spec.endpoint ? { AWS_ENDPOINT_URL_RDS_DATA: spec.endpoint } : {}) },
    regions: spec.regions,
    jobs: spec.jobs,
    history,
    ...(spec.maxWorkersPerRegion === undefined ? {} : { maxWorkersPerRegion: spec.maxWorkersPerRegion }),
    log: context.log,
  });
  const nemeses = createNemeses({
    history,
    supervisor,
    database: environment.throwaway,
    dataApi: environment.dataApi,
  });
  const harnessErrors: unknown[] = [];
  try {
    await supervisor.start();
    await drive({ environment, history, supervisor, nemeses, random: createRandom(context.seed), harnessErrors });
  } finally {
    nemeses.heal();
    await supervisor.stop();
  }
  for (const job of spec.jobs) {
    if (job.register) history.recordRegister(job.job, await readRegister(environment.executor, job.job));
  }
  const snapshot = history.snapshot();
  return { history: snapshot, check: checkHistory(snapshot), harnessErrors };
}

/**
 * Runs a schedule on the fleet's supervisor. Its dispatch and step errors become harness errors,
 * so a fault that could not be injected fails the scenario instead of passing it unnoticed.
 */
export async function runFleetSchedule(
  fleet: Fleet,
  options: Omit<RunScheduleOptions, 'supervisor'>,
): Promise<ScheduleRun> {
  const run = await runSchedule({ ...options, supervisor: fleet.supervisor });
  fleet.harnessErrors.push(...run.errors);
  return run;
}

/** How many invocations ended with `outcome`, optionally of one job only. */
export function countOutcome(history: History, outcome: InvocationOutcome, job?: string): number {
  return history.invocations.filter((record) => record.outcome === outcome && (job === undefined || record.job === job))
    .length;
}

export interface ReportOptions {
  /**
   * Overlaps and ticks run twice that the scenario provokes on purpose (a database clock stepped
   * past the margin, a holder frozen past a short fixed lease): reported as notes, not violations.
   * Fencing, the register, liveness and forbidden runs are still held to the rule.
   */
  readonly allowOverlapFor?: readonly string[];
  /**
   * Every tick must run, not just the last ones: a superseded tick (skipped because a later one
   * completed first) is a violation. For schedules where each tick's retries end before the next.
   */
  readonly strictLiveness?: boolean;
  readonly extraViolations?: readonly FaultViolation[];
  readonly notes?: readonly string[];
  /** Hostile inputs or other faults the scenario counted itself. */
  readonly extraFaults?: number;
}

/** The scenario's report from a fleet outcome: counts, violations, and what is worth reading. */
export function fleetReport(outcome: FleetOutcome, options: ReportOptions = {}): ScenarioReport {
  const allowed = new Set(options.allowOverlapFor ?? []);
  const notes: string[] = [];
  const violations: FaultViolation[] = [];
  for (const violation of outcome.check.violations) {
    const provoked =
      allowed.has(violation.job) &&
      (violation.invariant === Invariant.OVERLAP || violation.invariant === Invariant.TICK_TWICE);
    if (!provoked) violations.push({ invariant: violation.invariant, job: violation.job, message: violation.message });
  }
  for (const error of outcome.harnessErrors) {
    violations.push({
      invariant: 'harness',
      job: '-',
      message: error instanceof Error ? error.message : String(error),
    });
  }
  violations.push(...(options.extraViolations ?? []));
  for (const job of outcome.check.jobs) {
    const skips = Object.entries(job.skips)
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ');
    const others = [InvocationOutcome.KILLED, InvocationOutcome.UNAVAILABLE, InvocationOutcome.FAILED]
      .filter((outcome) => job.outcomes[outcome] > 0)
      .map((outcome) => `${outcome} ${job.outcomes[outcome]}`)
      .join(', ');
    const parts = [`${job.ticks} ticks, ${job.runs} runs`, skips && `skips: ${skips}`, others];
    if (allowed.has(job.job) && job.overlaps.length > 0) {
      const longest = Math.max(...job.overlaps.map((overlap) => overlap.overlapMs));
      parts.push(`provoked overlap: ${job.overlaps.length} pair(s), longest ${longest.toFixed(0)} ms (reported)`);
    }
    if (job.register) {
      const r = job.register;
      parts.push(
        `${r.variant} register: ${r.written} written, ${r.rejected} refused by fence, ${r.unknown} unknown, ` +
          `${registerCorruption(r)} corrupt (lost ${r.lost.length}, duplicated ${r.duplicated.length}, phantom ${r.phantom.length})`,
      );
    }
    if (job.liveness.superseded.length > 0) parts.push(`${job.liveness.superseded.length} tick(s) superseded`);
    if (options.strictLiveness) {
      for (const tick of job.liveness.superseded) {
        violations.push({ invariant: 'liveness', job: job.job, message: `tick ${tick} never ran (a later tick did)` });
      }
    }
    notes.push(`${job.job}: ${parts.filter(Boolean).join('; ')}`);
  }
  const failures = new Set(
    outcome.history.invocations
      .filter((record) => record.outcome === InvocationOutcome.FAILED)
      .map((record) => (record.reason ?? 'unknown').slice(0, 120)),
  );
  if (failures.size > 0) notes.push(`bodies that failed: ${[...failures].join(' | ')}`);
  notes.push(...(options.notes ?? []));
  // Faults: every nemesis, every delivery the schedule would not make (duplicates, late, replayed,
  // stale, forged), and every holder killed at its deadline.
  const { invocations } = outcome.history;
  const hostileDeliveries = invocations.filter((record) => record.delivery !== Delivery.SCHEDULED).length;
  const deadlineKills = invocations.filter(
    (record) => record.outcome === InvocationOutcome.KILLED && record.reason === 'timeout',
  ).length;
  return {
    faults: outcome.history.nemeses.length + hostileDeliveries + deadlineKills + (options.extraFaults ?? 0),
    invocations: invocations.length,
    runs: invocations.filter((record) => record.outcome === InvocationOutcome.RAN).length,
    violations,
    notes,
  };
}

/** One report from a scenario's parts (e.g. its default-lease and short-lease runs). */
export function mergeReports(...reports: readonly ScenarioReport[]): ScenarioReport {
  const sum = (pick: (report: ScenarioReport) => number): number => reports.reduce((total, r) => total + pick(r), 0);
  return {
    faults: sum((r) => r.faults),
    invocations: sum((r) => r.invocations),
    runs: sum((r) => r.runs),
    violations: reports.flatMap((r) => r.violations),
    notes: reports.flatMap((r) => r.notes),
  };
}
