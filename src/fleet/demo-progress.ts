/**
 * The demo's live output: one line per tick once its scheduled deliveries have all answered,
 * one line per delivery outside the schedule (retries, late, replayed, stale, forged), one line
 * per fault. Plain lines, so they read the same on a terminal, in a pipe and in CI logs.
 */
import { deliveryLabel, outcomeLabel, tickLabel } from './demo-labels.js';
import type { DemoPlan } from './demo-scenario.js';
import type { DroppedDelivery } from './demo-timeline.js';
import { Delivery, type HistoryRecorder, InvocationOutcome, type InvocationRecord } from './history.js';

export interface DemoProgress {
  onRecord(record: InvocationRecord): void;
  onDropped(dropped: DroppedDelivery, delivery: Delivery, attempt: number): void;
  fault(text: string): void;
}

const INDENT = '         ';

/** The tick's own deliveries: the schedule's, and duplicates arriving at about the same time. */
function isTickDelivery(delivery: Delivery, attempt: number): boolean {
  return (delivery === Delivery.SCHEDULED || delivery === Delivery.DUPLICATE) && attempt === 1;
}

export function createDemoProgress(
  plan: DemoPlan,
  history: HistoryRecorder,
  print: (line: string) => void,
): DemoProgress {
  const tickIndex = new Map(plan.ticks.map((tick, index) => [tick.toISOString(), index]));
  const waiting = plan.ticks.map(
    (_, k) => plan.deliveries.filter((d) => d.tickIndex === k && isTickDelivery(d.delivery, 1)).length,
  );
  const dark: DroppedDelivery[] = [];
  const width = String(plan.ticks.length).length;
  /** Tick lines go out in tick order: a tick that settles before an earlier one waits for it. */
  let nextToPrint = 0;

  function jobPart(job: string, records: readonly InvocationRecord[], tick: string): string {
    const mine = records.filter((record) => record.job === job);
    const held = mine
      .filter((record) => record.bodyStartObs !== null)
      .map((record) =>
        record.outcome === InvocationOutcome.RAN
          ? `ran in ${record.region} #${record.fence}`
          : `${record.region} ${outcomeLabel(record)}, Lambda retries`,
      );
    const others = mine.filter((record) => record.bodyStartObs === null);
    const reasons = [...new Set(others.map((record) => outcomeLabel(record).replace(/^skip /, '')))];
    const darkRegions = [
      ...new Set(dark.filter((drop) => drop.job === job && drop.tick === tick).map((drop) => drop.region)),
    ];
    return [
      `${job}: ${held.length > 0 ? held.join(', ') : 'no run'}`,
      others.length > 0 ? `, ${others.length} skipped (${reasons.join(', ')})` : '',
      darkRegions.length > 0 ? `, dark: ${darkRegions.join(', ')}` : '',
    ].join('');
  }

  function printTick(k: number): void {
    const tick = (plan.ticks[k] as Date).toISOString();
    const records = history
      .snapshot()
      .invocations.filter((record) => record.tick === tick && isTickDelivery(record.delivery, record.attempt));
    const label = `tick ${String(k + 1).padStart(width)}/${plan.ticks.length} ${tickLabel(plan.ticks[k] as Date, plan.granularityMs)}`;
    print(`${label}  ${plan.jobs.map((job) => jobPart(job.job, records, tick)).join('  |  ')}`);
  }

  function settle(tick: string | null, delivery: Delivery, attempt: number): boolean {
    const k = tick === null ? undefined : tickIndex.get(tick);
    if (k === undefined || !isTickDelivery(delivery, attempt)) return false;
    waiting[k] = (waiting[k] ?? 1) - 1;
    while (nextToPrint < plan.ticks.length && waiting[nextToPrint] === 0) printTick(nextToPrint++);
    return true;
  }

  function what(tick: string | null): string {
    const k = tick === null ? undefined : tickIndex.get(tick);
    return k === undefined ? `tick ${tick}` : `tick ${k + 1}`;
  }

  return {
    onRecord(record) {
      if (settle(record.tick, record.delivery, record.attempt)) return;
      print(
        `${INDENT}${deliveryLabel(record)} ${what(record.tick)} in ${record.region} (${record.job}): ${outcomeLabel(record)}`,
      );
    },
    onDropped(dropped, delivery, attempt) {
      dark.push(dropped);
      if (settle(dropped.tick, delivery, attempt)) return;
      const how = attempt > 1 ? `retry ${attempt}` : delivery;
      print(`${INDENT}${how} ${what(dropped.tick)} in ${dropped.region} (${dropped.job}): not delivered, region dark`);
    },
    fault(text) {
      print(`  fault  ${text}`);
    },
  };
}
