/**
 * What a fault scenario is and what it reports. A scenario drives the fleet harness (or, for bad
 * input, the middleware and the Data API server directly) and hands back counts and violations;
 * the runner and the vitest subset judge them the same way.
 */
import type { FleetEnvironment } from '../../src/fleet/environment.js';
import type { FaketimeStatus } from './faketime.js';

/** How long a scenario runs: `quick` for the vitest subset, `full` for `npm run faults`. */
export type Profile = 'quick' | 'full';

export interface ScenarioContext {
  readonly environment: FleetEnvironment;
  /** This scenario's seed, derived from the run's seed and the scenario's name. */
  readonly seed: number;
  readonly profile: Profile;
  /** Unique per run, so job names never collide with an earlier run's rows. */
  readonly runId: string;
  /** Whether libfaketime can wrap the database server; only the clock scenarios ask. */
  readonly faketime: () => Promise<FaketimeStatus>;
  readonly log: (line: string) => void;
}

/** A broken promise, from the fleet checker or from a scenario's own check. */
export interface FaultViolation {
  readonly invariant: string;
  readonly job: string;
  readonly message: string;
}

export interface ScenarioReport {
  /** Faults injected (nemeses, or hostile inputs tried). */
  readonly faults: number;
  /** Handler invocations. */
  readonly invocations: number;
  /** Bodies run to success. */
  readonly runs: number;
  readonly violations: readonly FaultViolation[];
  /** What a reader should know: overlaps reported but allowed, corrupt unfenced writes, counts. */
  readonly notes: readonly string[];
}

/** A scenario that could not run here (no faketime, an external database): never a pass. */
export interface NotRun {
  readonly notRun: string;
}

export interface Scenario {
  readonly name: string;
  /** Test catalogue ids in docs/reliability.md section (b). */
  readonly catalogue: string;
  /** The guarantee it proves, in one sentence. */
  readonly proves: string;
  /** A negative control: it runs a broken claim and passes only if violations are reported. */
  readonly control?: boolean;
  run(context: ScenarioContext): Promise<ScenarioReport | NotRun>;
}

export const Verdict = {
  PASS: 'pass',
  FAIL: 'FAIL',
  /** A negative control that reported violations, as it must. */
  CAUGHT: 'caught (control)',
  NOT_RUN: 'not run',
  ERROR: 'ERROR',
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

export function isNotRun<T extends object>(result: T | NotRun): result is NotRun {
  return 'notRun' in result;
}

/** Pass means no violations; for a control it means some were reported. */
export function verdictOf(scenario: Scenario, result: ScenarioReport | NotRun): Verdict {
  if (isNotRun(result)) return Verdict.NOT_RUN;
  if (scenario.control) return result.violations.length > 0 ? Verdict.CAUGHT : Verdict.FAIL;
  return result.violations.length === 0 ? Verdict.PASS : Verdict.FAIL;
}

/** A per-scenario seed, so `--only x` replays exactly what the full run did for x. */
export function scenarioSeed(seed: number, name: string): number {
  let hash = seed >>> 0;
  for (const char of name) hash = (Math.imul(hash ^ char.charCodeAt(0), 0x01000193) + 0x9e3779b9) >>> 0;
  return hash;
}
