import { afterAll, beforeAll, describe, it } from 'vitest';
import type { FleetEnvironment } from '../../src/fleet/environment.js';
import { dataApiFaults } from './scenarios/data-api-faults.js';
import { duplicates } from './scenarios/duplicates.js';
import { negativeControl } from './scenarios/negative-control.js';
import { expectScenario, subsetEnvironment } from './subset-context.js';

describe('fault suite, quick: worker processes over the local Data API', () => {
  let environment: FleetEnvironment;

  beforeAll(async () => {
    environment = await subsetEnvironment('faults_fleet');
  });
  afterAll(() => environment.stop());

  it('runs every tick once through concurrent, late and retried duplicates, matched or changed rows', () =>
    expectScenario(duplicates, environment));

  it('reports overlaps and double runs for the same duplicates against a claim without its lease condition', () =>
    expectScenario(negativeControl, environment));

  it('stays safe and live through lost answers after commit, a hang and resuming errors', () =>
    expectScenario(dataApiFaults, environment));
});
