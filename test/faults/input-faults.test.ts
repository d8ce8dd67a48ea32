import { afterAll, beforeAll, describe, it } from 'vitest';
import type { FleetEnvironment } from '../../src/fleet/environment.js';
import { badConfig } from './scenarios/bad-config.js';
import { badDataApi } from './scenarios/bad-data-api.js';
import { badEvents } from './scenarios/bad-events.js';
import { burst } from './scenarios/burst.js';
import { burstControl } from './scenarios/burst-control.js';
import { sqlModes } from './scenarios/sql-modes.js';
import { withLeaseScenario } from './scenarios/with-lease.js';
import { expectScenario, subsetEnvironment } from './subset-context.js';

describe('fault suite, quick: bursts, withLease, server modes and hostile input', () => {
  let environment: FleetEnvironment;

  beforeAll(async () => {
    environment = await subsetEnvironment('faults_input');
  });
  afterAll(() => environment.stop());

  it('gives 200 concurrent contenders exactly one winner per round, the fence rising by one', () =>
    expectScenario(burst, environment));

  it('sees many winners at once when the burst meets the broken claim', () =>
    expectScenario(burstControl, environment));

  it('keeps a renewing lease until its renewals hang, then stops before a contender takes over, leaving no timer behind', () =>
    expectScenario(withLeaseScenario, environment));

  it('gives the same outcomes and stored fences with changed rows, a non-UTC zone and SIMULTANEOUS_ASSIGNMENT', () =>
    expectScenario(sqlModes, environment));

  it('refuses hostile job names, tables and options with a LeaseGuardConfigError, and stores valid names verbatim', () =>
    expectScenario(badConfig, environment));

  it('never runs the body for replayed, malformed, stale or forged events', () =>
    expectScenario(badEvents, environment));

  it('answers hostile Data API requests with modelled errors and keeps lease claims committing', () =>
    expectScenario(badDataApi, environment));
});
