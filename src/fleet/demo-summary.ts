/**
 * The demo's verdict: the checker's report reduced to the invariants a reader cares about, as
 * JSON (`--json`) and as a table.
 */
import Table from 'cli-table3';
import { type CheckReport, registerCorruption, type Violation } from './checker.js';
import { tickLabel } from './demo-labels.js';
import type { DemoFault } from './demo-scenario.js';
import type { RegisterVariant } from './history.js';

export interface DemoFaultSummary {
  readonly kind: DemoFault;
  /** The tick it struck at (ISO). */
  readonly tick: string;
  readonly applied: boolean;
  readonly detail: string;
}

export interface DemoJobSummary {
  readonly job: string;
  readonly mode: 'per-tick' | 'affinity';
  readonly ticks: number;
  readonly runs: number;
  readonly invocations: number;
  readonly skips: Readonly<Record<string, number>>;
  readonly overlappingRuns: number;
  /** The longest overlap in observer milliseconds, 0 when none. */
  readonly longestOverlapMs: number;
  readonly ticksCompletedTwice: number;
  readonly holders: number;
  readonly fencesStrictlyIncreasing: boolean;
  readonly failovers: readonly { readonly from: string; readonly to: string; readonly tick: string | null }[];
  readonly superseded: readonly string[];
  readonly missed: readonly string[];
  readonly forbiddenRuns: number;
  readonly register: {
    readonly variant: RegisterVariant;
    readonly written: number;
    readonly rejected: number;
    readonly lost: number;
    readonly duplicated: number;
    readonly phantom: number;
  } | null;
}

export interface DemoSummary {
  readonly ok: boolean;
  readonly seed: number;
  readonly ticks: number;
  readonly tickGranularity: 'minute' | 'second';
  readonly regions: readonly string[];
  readonly database: 'throwaway' | 'external' | 'memory';
  readonly durationMs: number;
  /** Stale, forged and replayed events delivered; none may run. */
  readonly forbiddenDeliveries: number;
  readonly faults: readonly DemoFaultSummary[];
  readonly jobs: readonly DemoJobSummary[];
  readonly invariants: {
    readonly overlappingRuns: number;
    readonly ticksCompletedTwice: number;
    readonly fencesStrictlyIncreasing: boolean;
    readonly failovers: number;
    readonly missedTicks: number;
    readonly forbiddenRuns: number;
    readonly registerCorruption: number;
  };
  readonly violations: readonly Violation[];
}

export interface DemoRunFacts {
  readonly seed: number;
  readonly tickCount: number;
  readonly granularityMs: number;
  readonly regions: readonly string[];
  readonly database: 'throwaway' | 'external' | 'memory';
  readonly durationMs: number;
  readonly forbiddenDeliveries: number;
  readonly faults: readonly DemoFaultSummary[];
}

export function summarizeDemo(report: CheckReport, facts: DemoRunFacts): DemoSummary {
  const jobs: DemoJobSummary[] = report.jobs.map((job) => ({
    job: job.job,
    mode: job.mode,
    ticks: job.ticks,
    runs: job.runs,
    invocations: job.invocations,
    skips: job.skips,
    overlappingRuns: job.overlaps.length,
    longestOverlapMs: Math.max(0, ...job.overlaps.map((overlap) => overlap.overlapMs)),
    ticksCompletedTwice: job.ticksRunTwice.length,
    holders: job.fences.holders,
    fencesStrictlyIncreasing: job.fences.regressions.length === 0,
    failovers: job.failovers.map(({ from, to, tick }) => ({ from, to, tick })),
    superseded: job.liveness.superseded,
    missed: job.liveness.missed,
    forbiddenRuns: job.forbiddenRuns.length,
    register: job.register && {
      variant: job.register.variant,
      written: job.register.written,
      rejected: job.register.rejected,
      lost: job.register.lost.length,
      duplicated: job.register.duplicated.length,
      phantom: job.register.phantom.length,
    },
  }));
  const sum = (pick: (job: DemoJobSummary) => number): number => jobs.reduce((total, job) => total + pick(job), 0);
  return {
    ok: report.ok,
    seed: facts.seed,
    ticks: facts.tickCount,
    tickGranularity: facts.granularityMs >= 60_000 ? 'minute' : 'second',
    regions: facts.regions,
    database: facts.database,
    durationMs: Math.round(facts.durationMs),
    forbiddenDeliveries: facts.forbiddenDeliveries,
    faults: facts.faults,
    jobs,
    invariants: {
      overlappingRuns: sum((job) => job.overlappingRuns),
      ticksCompletedTwice: sum((job) => job.ticksCompletedTwice),
      fencesStrictlyIncreasing: jobs.every((job) => job.fencesStrictlyIncreasing),
      failovers: sum((job) => job.failovers.length),
      missedTicks: sum((job) => job.missed.length),
      forbiddenRuns: sum((job) => job.forbiddenRuns),
      registerCorruption: report.jobs.reduce(
        (total, job) => total + (job.register ? registerCorruption(job.register) : 0),
        0,
      ),
    },
    violations: report.violations,
  };
}

const PASS = 'ok';
const FAIL = 'BROKEN';

/** The invariants as a three-column table, then one line with the verdict. */
export function renderSummary(summary: DemoSummary): string {
  const { invariants, jobs } = summary;
  const table = new Table({ head: ['invariant', 'result', ''], style: { head: [], border: [] } });
  const perJob = (text: (job: DemoJobSummary) => string): string => jobs.map(text).join('\n');
  const mark = (ok: boolean): string => (ok ? PASS : FAIL);
  table.push(
    ['ticks', perJob((job) => `${job.job}: ${job.ticks}`), ''],
    [
      'runs',
      perJob((job) => {
        const notes = [
          job.superseded.length > 0 ? `${job.superseded.length} superseded by a later tick` : '',
          job.missed.length > 0 ? `${job.missed.length} never ran` : '',
        ].filter(Boolean);
        return `${job.job}: ${job.runs} of ${job.invocations} invocations${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
      }),
      mark(invariants.missedTicks === 0),
    ],
    [
      'overlapping runs',
      `${invariants.overlappingRuns} (must be 0)${
        invariants.overlappingRuns > 0
          ? `, longest ${Math.max(...jobs.map((job) => job.longestOverlapMs)).toFixed(1)} ms`
          : ''
      }`,
      mark(invariants.overlappingRuns === 0),
    ],
    [
      'ticks completed twice',
      `${invariants.ticksCompletedTwice} (must be 0)`,
      mark(invariants.ticksCompletedTwice === 0),
    ],
    [
      'fencing tokens',
      perJob(
        (job) =>
          `${job.job}: ${job.fencesStrictlyIncreasing ? 'strictly increasing' : 'NOT increasing'} across ${job.holders} holders`,
      ),
      mark(invariants.fencesStrictlyIncreasing),
    ],
    [
      'failovers',
      jobs
        .flatMap((job) =>
          job.failovers.map(
            (f) =>
              `${job.job}: ${f.from} -> ${f.to}${f.tick ? ` at tick ${tickLabel(new Date(f.tick), summary.tickGranularity === 'minute' ? 60_000 : 1000)}` : ''}`,
          ),
        )
        .join('\n') || '0',
      '',
    ],
    [
      'stale, forged, replayed',
      `${invariants.forbiddenRuns} of ${summary.forbiddenDeliveries} ran (must be 0)`,
      mark(invariants.forbiddenRuns === 0),
    ],
    ...jobs
      .filter((job) => job.register)
      .map((job) => {
        const r = job.register as NonNullable<DemoJobSummary['register']>;
        const broken = r.lost + r.duplicated + r.phantom;
        return [
          `${r.variant} register`,
          `${job.job}: ${r.written} writes, ${r.rejected} refused, ${r.lost} lost, ${r.duplicated} duplicated, ${r.phantom} phantom`,
          mark(broken === 0),
        ];
      }),
  );
  const verdict = summary.ok
    ? 'All invariants held.'
    : `${summary.violations.length} violation(s):\n${summary.violations.map((v) => `  ${v.job}: ${v.message}`).join('\n')}`;
  return `${table.toString()}\n${verdict}`;
}
