/**
 * The vitest subset's setting: its own database on the suite's server, a fleet environment over
 * it, a fixed seed and the quick profile. Database nemeses and libfaketime are never used here:
 * the server is shared with the other test files.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FleetEnvironment, startFleetEnvironment } from '../../src/fleet/environment.js';
import { freshDatabase } from '../support/database.js';
import { runScenario } from './run-scenario.js';
import { type Scenario, type ScenarioContext, Verdict } from './scenario.js';
import { details } from './summary.js';

/** Fixed, so the subset replays the same inputs and schedules every time. */
export const SUBSET_SEED = 7;
/**
 * A bound for a hung scenario, not a verdict: on a loaded machine (CI beside other jobs, busy
 * loops) a quick scenario can take minutes, and a scenario cut off mid-run keeps running and
 * disturbs the next one on the same database.
 */
const LIMIT_MS = 240_000;
// Every test file that runs quick scenarios imports this module: give its cases the same bound.
vi.setConfig({ testTimeout: LIMIT_MS + 30_000 });

export async function subsetEnvironment(prefix: string): Promise<FleetEnvironment> {
  return startFleetEnvironment({ mysqlUrl: await freshDatabase(prefix) });
}

/** Runs a scenario in the quick profile and expects a pass (a catch, for a control), showing its details if not. */
export async function expectScenario(scenario: Scenario, environment: FleetEnvironment): Promise<void> {
  const context: ScenarioContext = {
    environment,
    seed: SUBSET_SEED,
    profile: 'quick',
    runId: randomBytes(3).toString('hex'),
    faketime: async () => ({ available: false, reason: 'the vitest subset never uses libfaketime' }),
    log: () => undefined,
  };
  const row = await runScenario(scenario, context, LIMIT_MS);
  expect(row.verdict, details(row).join('\n')).toBe(scenario.control ? Verdict.CAUGHT : Verdict.PASS);
}

/**
 * One test file's scenarios: a fleet environment of its own, each case a quick run. Long scenarios
 * get files of their own, so vitest runs them side by side.
 */
export function describeScenarios(
  title: string,
  databasePrefix: string,
  cases: readonly (readonly [behaviour: string, scenario: Scenario])[],
): void {
  describe(title, () => {
    let environment: FleetEnvironment;
    beforeAll(async () => {
      environment = await subsetEnvironment(databasePrefix);
    });
    afterAll(() => environment?.stop());
    for (const [behaviour, scenario] of cases) it(behaviour, () => expectScenario(scenario, environment));
  });
}
