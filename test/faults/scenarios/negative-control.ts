/**
 * The negative control: the duplicates run, unchanged, against a claim whose lease condition was
 * removed (at the Data API seam, see broken-claim-proxy.ts). The checker must report overlaps and
 * ticks run twice; if it reports nothing, it could not have caught the real thing either.
 */
import { Invariant } from '../../../src/fleet/checker.js';
import { startBrokenClaimProxy } from '../broken-claim-proxy.js';
import { fleetReport } from '../fleet-run.js';
import type { Scenario } from '../scenario.js';
import { runDuplicates } from './duplicates.js';

const CAUGHT_BY: ReadonlySet<string> = new Set([Invariant.OVERLAP, Invariant.TICK_TWICE]);

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
      if (proxy.rewrites === 0) throw new Error('the broken-claim proxy rewrote no claim: the control proved nothing');
      const report = fleetReport(outcome, { notes: [`${proxy.rewrites} claims sent without their lease condition`] });
      const harness = report.violations.filter((violation) => violation.invariant === 'harness');
      if (harness.length > 0) throw new Error(`the control's run broke: ${harness[0]?.message}`);
      // Caught means caught for the right reason: bodies at the same time, or a tick run twice.
      const caught = report.violations.filter((violation) => CAUGHT_BY.has(violation.invariant));
      const others = report.violations.length - caught.length;
      return {
        ...report,
        violations: caught,
        notes: [...report.notes, ...(others > 0 ? [`${others} other violation(s) not counted as caught`] : [])],
      };
    } finally {
      await proxy.close();
    }
  },
};
