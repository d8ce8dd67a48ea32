/**
 * The burst's negative control: the same bursts of contenders against the claim without its
 * lease condition. Many contenders of one round must be seen running at once.
 */
import { startBrokenClaimProxy } from '../broken-claim-proxy.js';
import { runBurst } from '../burst-fleet.js';
import { controlReport } from '../control.js';
import { fleetJob, fleetReport } from '../fleet-run.js';
import type { Scenario } from '../scenario.js';
import { BURST_RETRY } from './burst.js';

export const burstControl: Scenario = {
  name: 'burst-control',
  catalogue: 'P1 L1 (control)',
  proves: 'The checker catches the broken claim under a burst: a round of 200 contenders has many winners at once.',
  control: true,
  async run(context) {
    const proxy = await startBrokenClaimProxy(context.environment.dataApi.url, context.environment.table);
    try {
      const outcome = await runBurst(context, {
        jobs: [fleetJob(`burst-broken-${context.runId}`, { retry: BURST_RETRY })],
        // One round: its many winners at once are what the checker must catch.
        rounds: 1,
        contenders: 200,
        processes: 2,
        endpoint: proxy.url,
      });
      return controlReport(fleetReport(outcome), proxy.rewrites);
    } finally {
      await proxy.close();
    }
  },
};
