/**
 * How a negative control is judged: it passes only if it caught the broken claim for the right
 * reason (bodies at the same time, or a tick run twice). A control whose broken claim was never
 * used, or whose run broke, proved nothing and fails loudly instead.
 */
import { Invariant } from '../../src/fleet/checker.js';
import type { ScenarioReport } from './scenario.js';

const CAUGHT_BY: ReadonlySet<string> = new Set([Invariant.OVERLAP, Invariant.TICK_TWICE]);

export function controlReport(report: ScenarioReport, rewrites: number): ScenarioReport {
  if (rewrites === 0) throw new Error('the broken-claim proxy rewrote no claim: the control proved nothing');
  const harness = report.violations.find((violation) => violation.invariant === 'harness');
  if (harness) throw new Error(`the control's run broke: ${harness.message}`);
  const caught = report.violations.filter((violation) => CAUGHT_BY.has(violation.invariant));
  const others = report.violations.length - caught.length;
  return {
    ...report,
    violations: caught,
    notes: [
      ...report.notes,
      `${rewrites} claims sent without their lease condition`,
      ...(others > 0 ? [`${others} other violation(s) not counted as caught`] : []),
    ],
  };
}
