import { badConfig } from './scenarios/bad-config.js';
import { badDataApi } from './scenarios/bad-data-api.js';
import { badEvents } from './scenarios/bad-events.js';
import { sqlModes } from './scenarios/sql-modes.js';
import { withLeaseScenario } from './scenarios/with-lease.js';
import { describeScenarios } from './subset-context.js';

// Bursts of contenders: burst.test.ts.
describeScenarios('fault suite, quick: withLease, server modes and hostile input', 'faults_input', [
  [
    'keeps a renewing lease until its renewals hang, then stops before a contender takes over, leaving no timer behind',
    withLeaseScenario,
  ],
  ['gives the same outcomes and stored fences with changed rows, a non-UTC zone and SIMULTANEOUS_ASSIGNMENT', sqlModes],
  [
    'refuses hostile job names, tables and options with a LeaseGuardConfigError, and stores valid names verbatim',
    badConfig,
  ],
  ['never runs the body for replayed, malformed, stale or forged events', badEvents],
  ['answers hostile Data API requests with modelled errors and keeps lease claims committing', badDataApi],
]);
