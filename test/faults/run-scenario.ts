/** Runs one scenario with its own seed and a time limit, and judges it; shared by the runner and the vitest subset. */
import { type Scenario, type ScenarioContext, scenarioSeed, Verdict, verdictOf } from './scenario.js';
import type { ScenarioRow } from './summary.js';

/** `run.seed` is the run's seed; the scenario gets its own, derived from it and its name. */
export async function runScenario(scenario: Scenario, run: ScenarioContext, limitMs: number): Promise<ScenarioRow> {
  const started = performance.now();
  const context: ScenarioContext = { ...run, seed: scenarioSeed(run.seed, scenario.name) };
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the scenario did not finish within ${limitMs / 1000} s`)), limitMs);
  });
  try {
    const result = await Promise.race([scenario.run(context), limit]);
    return { scenario, verdict: verdictOf(scenario, result), result, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return {
      scenario,
      verdict: Verdict.ERROR,
      result: { error: message },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    clearTimeout(timer);
  }
}
