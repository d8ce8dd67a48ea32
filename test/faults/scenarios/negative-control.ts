/**
 * The negative control: the duplicates run, unchanged, against a claim whose lease condition was
 * removed (at the Data API seam, see broken-claim-proxy.ts). The checker must report overlaps and
 * ticks run twice; if it reports nothing, it could not have caught the real thing either.
 */
import { startBrokenClaimProxy } from '../broken-claim-proxy.js';
import { controlReport } from '../control.js';
import { fleetReport } from '../fleet-run.js';
import type { Scenario } from '../scenario.js';
import { runDuplicates } from './duplicates.js';

export const negativeControl: Scenario = {
  name: 'negative-control',
  catalogue: 'L1 L3 (control)',
  proves:
    'The checker catches a claim without its lease condition: the duplicates run reports overlaps and ticks run twice.',
  control: true,
  async run(context) {
    const { environment } = context;
    const proxy = await startBrokenClaimProxy(environment.dataApi.url, environment.table);
    try {
      const outcome = await runDuplicates(context, { job: `broken-${context.runId}`, endpoint: proxy.url });
      return controlReport(fleetReport(outcome), proxy.rewrites);
    } finally {
      await proxy.close();
    }
  },
};
