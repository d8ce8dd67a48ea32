import { holderTimeout } from './scenarios/holder-timeout.js';
import { describeScenarios } from './subset-context.js';

describeScenarios('fault suite, quick: killed and abandoned holders', 'faults_holder_timeout', [
  [
    'blocks the job only until a killed or abandoned holder’s lease ends, then the retry runs the tick once',
    holderTimeout,
  ],
]);
