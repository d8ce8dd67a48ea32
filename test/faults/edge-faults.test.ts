import { afterAll, beforeAll, describe, it } from 'vitest';
import type { FleetEnvironment } from '../../src/fleet/environment.js';
import { edgeHoles, edgeHolesControl } from './scenarios/edge-holes.js';
import { lostRelease, lostReleaseControl } from './scenarios/lost-release.js';
import { staleSuccess, staleSuccessControl } from './scenarios/stale-success.js';
import { unansweredClaim, unansweredClaimControl } from './scenarios/unanswered-claim.js';
import { withLeaseSlowAnswer, withLeaseSlowAnswerControl } from './scenarios/with-lease-slow-answer.js';
import { expectScenario, subsetEnvironment } from './subset-context.js';

describe('fault suite, quick: the guarantees at the edges (issue 14), each with its control', () => {
  let environment: FleetEnvironment;

  beforeAll(async () => {
    environment = await subsetEnvironment('faults_edges');
  });
  afterAll(() => environment.stop());

  it('settles a lost success release, and keeps the lease and reports when it cannot land', () =>
    expectScenario(lostRelease, environment));
  it('catches the release sent once: a duplicate reruns the tick', () =>
    expectScenario(lostReleaseControl, environment));

  it("records a force-released or expired holder's completed tick", () => expectScenario(staleSuccess, environment));
  it('catches a stale success that records nothing', () => expectScenario(staleSuccessControl, environment));

  it('fails a retry of an invocation whose claim went unanswered, then runs the tick', () =>
    expectScenario(unansweredClaim, environment));
  it('catches a retry that skips while its own earlier attempt holds the lease', () =>
    expectScenario(unansweredClaimControl, environment));

  it('closes the smaller holes: odd throws, connect deadlines, temporary tables, ticks ahead, wrapped ticks', () =>
    expectScenario(edgeHoles, environment));
  it('catches each smaller hole as it was', () => expectScenario(edgeHolesControl, environment));

  it('stops withLease before a contender wins when the claim’s answer is slow', () =>
    expectScenario(withLeaseSlowAnswer, environment));
  it('catches a holder that trusts its lease from the answer', () =>
    expectScenario(withLeaseSlowAnswerControl, environment));
});
