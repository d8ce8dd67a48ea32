import { burst } from './scenarios/burst.js';
import { burstControl } from './scenarios/burst-control.js';
import { describeScenarios } from './subset-context.js';

describeScenarios('fault suite, quick: bursts of contenders', 'faults_burst', [
  ['gives 200 concurrent contenders exactly one winner per round, the fence rising by one', burst],
  ['sees many winners at once when the burst meets the broken claim', burstControl],
]);
