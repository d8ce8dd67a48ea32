/**
 * Property runs that report instead of throwing: each hostile input is tried, a broken property
 * becomes a violation with fast-check's shrunk counterexample, and the number of inputs tried is
 * the scenario's fault count. Seeded and bounded in count and time.
 */
import fc from 'fast-check';
import type { FaultViolation } from './scenario.js';

export interface PropertyRun {
  readonly tried: number;
  readonly violations: readonly FaultViolation[];
}

/** A bound for a hung run; a run that hits it fails, it never passes with fewer inputs than asked. */
const TIME_LIMIT_MS = 120_000;

function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/**
 * Checks `problem` (which returns what is wrong, or null) against `numRuns` inputs; `invariant`
 * and `job` name the violation if one is found.
 */
export async function checkProperty<T>(
  what: { readonly invariant: string; readonly job: string },
  arbitrary: fc.Arbitrary<T>,
  problem: (input: T) => Promise<string | null>,
  options: { readonly seed: number; readonly numRuns: number; readonly endOnFailure?: boolean },
): Promise<PropertyRun> {
  let tried = 0;
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (input) => {
      tried++;
      const found = await problem(input);
      if (found !== null) throw new Error(found);
    }),
    {
      seed: options.seed,
      numRuns: options.numRuns,
      endOnFailure: options.endOnFailure ?? false,
      interruptAfterTimeLimit: TIME_LIMIT_MS,
    },
  );
  if (details.interrupted && !details.failed) {
    return {
      tried,
      violations: [
        {
          invariant: what.invariant,
          job: what.job,
          message: `the property run hit its ${TIME_LIMIT_MS / 1000} s limit after ${details.numRuns} of ${options.numRuns} inputs (seed ${options.seed})`,
        },
      ],
    };
  }
  if (!details.failed) return { tried, violations: [] };
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  return {
    tried,
    violations: [
      {
        invariant: what.invariant,
        job: what.job,
        message: `${error} — counterexample ${show(details.counterexample?.[0])} (seed ${options.seed}, path ${details.counterexamplePath})`,
      },
    ],
  };
}

/** Several property runs as one. */
export function combine(runs: readonly PropertyRun[]): PropertyRun {
  return { tried: runs.reduce((sum, run) => sum + run.tried, 0), violations: runs.flatMap((run) => run.violations) };
}
