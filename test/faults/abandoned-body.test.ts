import { abandonedBody } from './scenarios/abandoned-body.js';
import { describeScenarios } from './subset-context.js';

// Its control (the overlap a weaker design shows) is in abandoned-body-control.test.ts.
describeScenarios('fault suite, quick: abandoned bodies in a sandbox process frozen and thawed', 'faults_abandoned', [
  ['never runs an abandoned body beside a retry, the next tick or a later holder', abandonedBody],
]);
