import { edgeHoles, edgeHolesControl } from './scenarios/edge-holes.js';
import { withLeaseSlowAnswer, withLeaseSlowAnswerControl } from './scenarios/with-lease-slow-answer.js';
import { describeScenarios } from './subset-context.js';

describeScenarios(
  'fault suite, quick: the smaller holes and a slow answer (issue 14), each with its control',
  'faults_edge_holes',
  [
    [
      'closes the smaller holes: odd throws, connect deadlines, temporary tables, ticks ahead, wrapped ticks',
      edgeHoles,
    ],
    ['catches each smaller hole as it was', edgeHolesControl],
    ['stops withLease before a contender wins when the claim’s answer is slow', withLeaseSlowAnswer],
    ['catches a holder that trusts its lease from the answer', withLeaseSlowAnswerControl],
  ],
);
