import { abandonedBodyControl } from './scenarios/abandoned-body.js';
import { describeScenarios } from './subset-context.js';

describeScenarios('fault suite, quick: abandoned bodies, the control', 'faults_abandoned_control', [
  [
    'reports the overlap for the middleware with a custom response and for an environment kept alive',
    abandonedBodyControl,
  ],
]);
