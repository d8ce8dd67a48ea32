import { holderPause } from './scenarios/holder-pause.js';
import { invokerSkew } from './scenarios/invoker-skew.js';
import { describeScenarios } from './subset-context.js';

// The README's guarantees that need worker processes (frozen, killed, clock-skewed) but no
// database fault: quick runs of the full suite's scenarios, so npm test fails if they break.
// Killed holders: holder-timeout.test.ts.
describeScenarios('fault suite, quick: frozen holders, skewed invokers', 'faults_guarantees', [
  [
    'refuses a frozen stale holder’s write through the fence after a takeover; keeps the default lease through the freeze',
    holderPause,
  ],
  ['gives invokers five minutes behind or ahead the baseline’s results, each winning its ticks', invokerSkew],
]);
