/**
 * The demo's timeline: for each job, a table of ticks by region, every delivery of the tick to
 * the region in the order it started (ran with its fence, or skipped and why), and the faults
 * that struck at that tick.
 */
import Table from 'cli-table3';
import { invocationLabel, signedMinutes, tickLabel } from './demo-labels.js';
import { DEMO_JOBS, type DemoPlan } from './demo-scenario.js';
import type { DemoFaultSummary } from './demo-summary.js';
import { Delivery, type History, type InvocationRecord } from './history.js';

/** A delivery the supervisor never sent: its region was dark. */
export interface DroppedDelivery {
  readonly job: string;
  readonly region: string;
  readonly tick: string;
}

export interface TimelineInput {
  readonly plan: DemoPlan;
  readonly history: History;
  readonly dropped: readonly DroppedDelivery[];
  readonly faults: readonly DemoFaultSummary[];
}

const FAULT_WORDS: Readonly<Record<DemoFaultSummary['kind'], string>> = {
  'kill-holder': 'body given up',
  'lost-response': 'claim answer lost',
  'pause-database': 'database paused',
  resuming: 'Aurora resuming',
  'clock-skew': 'clock skew',
  'owner-dark': 'owner dark',
  'owner-back': 'owner back',
};

/** Faults aimed at one job: the other job's table does not show them. */
const ONLY_JOB: Partial<Readonly<Record<DemoFaultSummary['kind'], string>>> = {
  'kill-holder': DEMO_JOBS.REPORT,
};

function cell(records: readonly InvocationRecord[], dark: boolean): string {
  const lines = [...records].sort((a, b) => a.startObs - b.startObs).map(invocationLabel);
  if (dark) lines.push('dark');
  return lines.join('\n');
}

export function renderTimeline(input: TimelineInput): string {
  const { plan, history, dropped } = input;
  const regionHeads = plan.regions.map((region) =>
    region.clockSkewMs === 0 ? region.name : `${region.name}\n(clock ${signedMinutes(region.clockSkewMs)})`,
  );
  const faultsAt = (tick: string, job: string): string =>
    input.faults
      .filter((fault) => fault.tick === tick && fault.kind !== 'clock-skew')
      .filter((fault) => (ONLY_JOB[fault.kind] ?? job) === job)
      .map((fault) => (fault.applied ? FAULT_WORDS[fault.kind] : `${FAULT_WORDS[fault.kind]} (skipped)`))
      .join('\n');

  return plan.jobs
    .map((job) => {
      const records = history.invocations.filter((record) => record.job === job.job);
      const table = new Table({ head: ['tick', ...regionHeads, 'faults'], style: { head: [], border: [] } });
      const row = (label: string, matches: (record: InvocationRecord) => boolean, tick: string | null) => {
        const cells = plan.regions.map((region) =>
          cell(
            records.filter((record) => record.region === region.name && matches(record)),
            tick !== null &&
              dropped.some((drop) => drop.job === job.job && drop.region === region.name && drop.tick === tick),
          ),
        );
        table.push([label, ...cells, tick === null ? '' : faultsAt(tick, job.job)]);
      };
      plan.ticks.forEach((tick, index) => {
        const iso = tick.toISOString();
        row(`${index + 1} ${tickLabel(tick, plan.granularityMs)}`, (record) => record.tick === iso, iso);
      });
      // Ticks outside the schedule: too old, or forged into the future.
      for (const [delivery, label] of [
        [Delivery.STALE, 'stale (-2 h)'],
        [Delivery.FORGED, 'forged (+1 d)'],
      ] as const) {
        if (records.some((record) => record.delivery === delivery)) {
          row(label, (record) => record.delivery === delivery, null);
        }
      }
      const mode = job.mode === 'affinity' ? `affinity, failover after ${job.failoverAfterMs} ms` : 'per tick';
      return `${job.job} (${mode}${job.register ? `, ${job.register} register` : ''})\n${table.toString()}`;
    })
    .join('\n\n');
}
