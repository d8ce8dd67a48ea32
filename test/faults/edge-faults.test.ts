import { lostRelease, lostReleaseControl } from './scenarios/lost-release.js';
import { staleSuccess, staleSuccessControl } from './scenarios/stale-success.js';
import { unansweredClaim, unansweredClaimControl } from './scenarios/unanswered-claim.js';
import { describeScenarios } from './subset-context.js';

// The guarantees at the edges of a run, each with its control; the smaller holes and withLease's
// slow answer are in edge-holes.test.ts.
describeScenarios(
  'fault suite, quick: lost releases and unanswered claims (issue 14), each with its control',
  'faults_edges',
  [
    ['settles a lost success release, and keeps the lease and reports when it cannot land', lostRelease],
    ['catches the release sent once: a duplicate reruns the tick', lostReleaseControl],
    ["records a force-released or expired holder's completed tick", staleSuccess],
    ['catches a stale success that records nothing', staleSuccessControl],
    ['fails a retry of an invocation whose claim went unanswered, then runs the tick', unansweredClaim],
    ['catches a retry that skips while its own earlier attempt holds the lease', unansweredClaimControl],
  ],
);
