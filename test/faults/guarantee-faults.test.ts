import { afterAll, beforeAll, describe, it } from 'vitest';
import type { FleetEnvironment } from '../../src/fleet/environment.js';
import { holderPause } from './scenarios/holder-pause.js';
import { holderTimeout } from './scenarios/holder-timeout.js';
import { invokerSkew } from './scenarios/invoker-skew.js';
import { expectScenario, subsetEnvironment } from './subset-context.js';

// The README's guarantees that need worker processes (frozen, killed, clock-skewed) but no
// database fault: quick runs of the full suite's scenarios, so npm test fails if they break.
describe('fault suite, quick: frozen and killed holders, skewed invokers', () => {
  let environment: FleetEnvironment;

  beforeAll(async () => {
    environment = await subsetEnvironment('faults_guarantees');
  });
  afterAll(() => environment.stop());

  it('refuses a frozen stale holder’s write through the fence after a takeover; keeps the default lease through the freeze', () =>
    expectScenario(holderPause, environment));

  it('blocks the job only until a killed or abandoned holder’s lease ends, then the retry runs the tick once', () =>
    expectScenario(holderTimeout, environment));

  it('gives invokers five minutes behind or ahead the baseline’s results, each winning its ticks', () =>
    expectScenario(invokerSkew, environment));
});
