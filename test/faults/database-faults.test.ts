/**
 * The guarantees that need database faults, in npm test: a private throwaway server (a pause or a
 * clock restart would break every other test file on the shared one) and libfaketime, which CI
 * installs (`apt-get install faketime`). Without libfaketime this fails and says so: a clock
 * guarantee that is not checked is not a pass.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FleetEnvironment, startFleetEnvironment } from '../../src/fleet/environment.js';
import { ensureFaketime } from './faketime.js';
import { runScenario } from './run-scenario.js';
import { type Scenario, Verdict } from './scenario.js';
import { dbClockStep } from './scenarios/db-clock-step.js';
import { dbPause } from './scenarios/db-pause.js';
import { SUBSET_SEED } from './subset-context.js';
import { details } from './summary.js';

const LIMIT_MS = 240_000;

describe('fault suite, quick: database frozen and its clock stepped (own server, libfaketime)', () => {
  let environment: FleetEnvironment;

  beforeAll(async () => {
    environment = await startFleetEnvironment();
  }, 120_000);
  afterAll(() => environment?.stop());

  async function expectPass(scenario: Scenario): Promise<void> {
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
  }

  it(
    'keeps the overlap of a 60 s forward clock step to the step, refuses the stale write by the fence, and nothing overlaps after a 7 s backward step',
    () => expectPass(dbClockStep),
    LIMIT_MS + 10_000,
  );

  it(
    'fails closed and overlaps nothing while the database is frozen mid-job, and runs the ticks after it thaws',
    () => expectPass(dbPause),
    LIMIT_MS + 10_000,
  );
});
