/** Every scenario of the full run, in the order it runs them. */
import type { Scenario } from '../scenario.js';
import { abandonedBody, abandonedBodyControl } from './abandoned-body.js';
import { badConfig } from './bad-config.js';
import { badDataApi } from './bad-data-api.js';
import { badEvents } from './bad-events.js';
import { burst } from './burst.js';
import { burstControl } from './burst-control.js';
import { dataApiFaults } from './data-api-faults.js';
import { dbClockStep } from './db-clock-step.js';
import { dbClockStrobe } from './db-clock-strobe.js';
import { dbCrash } from './db-crash.js';
import { dbPause } from './db-pause.js';
import { duplicates } from './duplicates.js';
import { edgeHoles, edgeHolesControl } from './edge-holes.js';
import { events } from './events.js';
import { globalFailover, globalFailoverControl } from './global-failover.js';
import { holderPause } from './holder-pause.js';
import { holderTimeout } from './holder-timeout.js';
import { invokerSkew } from './invoker-skew.js';
import { lostRelease, lostReleaseControl } from './lost-release.js';
import { negativeControl } from './negative-control.js';
import { soak } from './soak.js';
import { sqlModes } from './sql-modes.js';
import { staleSuccess, staleSuccessControl } from './stale-success.js';
import { unansweredClaim, unansweredClaimControl } from './unanswered-claim.js';
import { withLeaseScenario } from './with-lease.js';
import { withLeaseSlowAnswer, withLeaseSlowAnswerControl } from './with-lease-slow-answer.js';

export const SCENARIOS: readonly Scenario[] = [
  duplicates,
  negativeControl,
  events,
  invokerSkew,
  holderTimeout,
  holderPause,
  abandonedBody,
  abandonedBodyControl,
  withLeaseScenario,
  lostRelease,
  lostReleaseControl,
  staleSuccess,
  staleSuccessControl,
  unansweredClaim,
  unansweredClaimControl,
  edgeHoles,
  edgeHolesControl,
  withLeaseSlowAnswer,
  withLeaseSlowAnswerControl,
  dataApiFaults,
  dbPause,
  dbCrash,
  dbClockStep,
  dbClockStrobe,
  globalFailover,
  globalFailoverControl,
  burst,
  burstControl,
  sqlModes,
  badConfig,
  badEvents,
  badDataApi,
  soak,
];
