/**
 * The guarantees that need database faults, in npm test: a private throwaway server per test file
 * (a pause or a clock restart would break every other test file on the shared one) and libfaketime,
 * which the run's global setup installs where it can (test/support/global-setup.ts). Without
 * libfaketime this fails and says so: a clock guarantee that is not checked is not a pass.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FleetEnvironment, startFleetEnvironment } from '../../src/fleet/environment.js';
import { ensureFaketime } from './faketime.js';
import { runScenario } from './run-scenario.js';
import { type Scenario, Verdict } from './scenario.js';
import { SUBSET_SEED } from './subset-context.js';
import { details } from './summary.js';

const LIMIT_MS = 240_000;

/** One database fault scenario on a server of its own (one per file, so two run side by side). */
export function describeDatabaseFault(title: string, behaviour: string, scenario: Scenario): void {
  describe(title, () => {
    let environment: FleetEnvironment;

    beforeAll(async () => {
      environment = await startFleetEnvironment();
    }, 120_000);
    afterAll(() => environment?.stop());

    it(
      behaviour,
      async () => {
        const row = await runScenario(
          scenario,
          {
            environment,
            seed: SUBSET_SEED,
            profile: 'quick',
            runId: randomBytes(3).toString('hex'),
            faketime: async () => ensureFaketime({ install: false, log: () => undefined }),
            log: () => undefined,
          },
          LIMIT_MS,
        );
        expect(row.verdict, details(row).join('\n')).toBe(Verdict.PASS);
      },
      LIMIT_MS + 10_000,
    );
  });
}
