import { afterAll, beforeAll, describe, it } from 'vitest';
import type { FleetEnvironment } from '../../src/fleet/environment.js';
import { abandonedBody, abandonedBodyControl } from './scenarios/abandoned-body.js';
import { expectScenario, subsetEnvironment } from './subset-context.js';

describe('fault suite, quick: abandoned bodies in a sandbox process frozen and thawed', () => {
  let environment: FleetEnvironment;

  beforeAll(async () => {
    environment = await subsetEnvironment('faults_abandoned');
  });
  afterAll(() => environment.stop());

  it('never runs an abandoned body beside a retry, the next tick or a later holder', () =>
    expectScenario(abandonedBody, environment));

  it('reports the overlap for the middleware with a custom response and for an environment kept alive', () =>
    expectScenario(abandonedBodyControl, environment));
});
