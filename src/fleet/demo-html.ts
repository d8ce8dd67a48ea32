/**
 * The demo's timeline as one self-contained HTML page: inline CSS and SVG, no script, no external
 * asset. One lane per region and job on the observer clock; a body that ran is a solid bar with
 * its fence, a skip a thin one, faults shaded across the lanes. Hover shows each invocation.
 */
import { invocationLabel, signedMinutes, tickLabel } from './demo-labels.js';
import type { DemoPlan } from './demo-scenario.js';
import type { DemoSummary } from './demo-summary.js';
import { type History, InvocationOutcome, type InvocationRecord } from './history.js';

export interface HtmlInput {
  readonly plan: DemoPlan;
  readonly history: History;
  readonly summary: DemoSummary;
  /** The observer time the schedule's offsets count from. */
  readonly startObs: number;
}

const LEFT = 170;
/** Horizontal scale: a 150 ms body is still 12 px wide; the page scrolls sideways. */
const PX_PER_SECOND = 80;
const LANE = 40;
const TOP = 36;
const BOTTOM = 16;

const COLORS: Readonly<Record<InvocationOutcome, string>> = {
  [InvocationOutcome.RAN]: '#2e7d32',
  [InvocationOutcome.SKIPPED]: '#9e9e9e',
  [InvocationOutcome.FAILED]: '#ef6c00',
  [InvocationOutcome.KILLED]: '#c62828',
  [InvocationOutcome.UNAVAILABLE]: '#6a1b9a',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

export function renderDemoHtml(input: HtmlInput): string {
  const { plan, history, summary, startObs } = input;
  const ends = [
    ...history.invocations.map((record) => record.endObs),
    ...history.nemeses.map((nemesis) => nemesis.endObs ?? nemesis.startObs),
  ];
  const endObs = Math.max(startObs + 1000, ...ends);
  const width = Math.ceil(((endObs - startObs) / 1000) * PX_PER_SECOND) + 20;
  const x = (t: number): number => LEFT + (Math.max(0, t - startObs) / 1000) * PX_PER_SECOND;

  function lane(record: InvocationRecord, y: number): string {
    const title = `<title>${escapeHtml(
      `${record.invocationId} ${record.region}: ${invocationLabel(record)}\ntick ${record.tick ?? 'none'}, ${record.delivery}, attempt ${record.attempt}\n${seconds(record.startObs - startObs)} to ${seconds(record.endObs - startObs)}`,
    )}</title>`;
    const color = COLORS[record.outcome];
    const thin = `<rect x="${x(record.startObs).toFixed(1)}" y="${y + 22}" width="${Math.max(2, x(record.endObs) - x(record.startObs)).toFixed(1)}" height="4" fill="${color}">${title}</rect>`;
    if (record.bodyStartObs === null) return thin;
    const bodyStart = x(record.bodyStartObs);
    const bodyWidth = Math.max(3, x(record.bodyEndObs ?? record.endObs) - bodyStart);
    return `${thin}<rect x="${bodyStart.toFixed(1)}" y="${y + 14}" width="${bodyWidth.toFixed(1)}" height="20" rx="2" fill="${color}">${title}</rect><text x="${bodyStart.toFixed(1)}" y="${y + 11}" class="fence">#${record.fence ?? ''}</text>`;
  }

  const charts = plan.jobs.map((job) => {
    const records = history.invocations.filter((record) => record.job === job.job);
    const height = TOP + plan.regions.length * LANE + BOTTOM;
    const lanes = plan.regions.map((region, index) => {
      const y = TOP + index * LANE;
      const label = region.clockSkewMs === 0 ? region.name : `${region.name} (${signedMinutes(region.clockSkewMs)})`;
      const bars = records.filter((record) => record.region === region.name).map((record) => lane(record, y));
      return `<line x1="${LEFT}" x2="${width}" y1="${y + LANE}" y2="${y + LANE}" class="grid"/><text x="8" y="${y + 27}" class="lane">${escapeHtml(label)}</text>${bars.join('')}`;
    });
    const ticks = plan.ticks.map((tick, index) => {
      const tx = x(startObs + (plan.tickAtMs[index] as number));
      return `<line x1="${tx.toFixed(1)}" x2="${tx.toFixed(1)}" y1="${TOP - 6}" y2="${height - BOTTOM}" class="tick"/><text x="${(tx + 2).toFixed(1)}" y="${TOP - 10}" class="ticklabel">${index + 1} ${tickLabel(tick, plan.granularityMs)}</text>`;
    });
    const faults = history.nemeses
      .filter((nemesis) => nemesis.kind !== 'clock-skew')
      .map((nemesis) => {
        const fx = x(nemesis.startObs);
        const band = Math.max(3, x(nemesis.endObs ?? endObs) - fx);
        const text = `${nemesis.kind} ${nemesis.target}${nemesis.detail ? `: ${nemesis.detail}` : ''}`;
        return `<rect x="${fx.toFixed(1)}" y="${TOP}" width="${band.toFixed(1)}" height="${height - TOP - BOTTOM}" class="fault"><title>${escapeHtml(text)}</title></rect><text x="${fx.toFixed(1)}" y="${height - 4}" class="faultlabel">${escapeHtml(nemesis.kind)}</text>`;
      });
    const mode = job.mode === 'affinity' ? 'affinity' : 'per tick';
    return `<h2>${escapeHtml(job.job)} <small>${mode}${job.register ? `, ${job.register} register` : ''}</small></h2>
<div class="scroll"><svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(job.job)} timeline">
${faults.join('')}${ticks.join('')}${lanes.join('')}
</svg></div>`;
  });

  const rows: [string, string][] = [
    ['seed', String(summary.seed)],
    ['regions', summary.regions.join(', ')],
    ['ticks', `${summary.ticks} (one per ${summary.tickGranularity})`],
    ['overlapping runs', `${summary.invariants.overlappingRuns} (must be 0)`],
    ['ticks completed twice', `${summary.invariants.ticksCompletedTwice} (must be 0)`],
    ['fencing tokens strictly increasing', summary.invariants.fencesStrictlyIncreasing ? 'yes' : 'NO'],
    ['failovers', String(summary.invariants.failovers)],
    ['stale, forged, replayed runs', `${summary.invariants.forbiddenRuns} of ${summary.forbiddenDeliveries}`],
    ['register corruption', String(summary.invariants.registerCorruption)],
    ['faults', summary.faults.map((fault) => `${fault.detail}${fault.applied ? '' : ' (skipped)'}`).join('; ')],
    ['verdict', summary.ok ? 'all invariants held' : `${summary.violations.length} violation(s)`],
  ];
  const legend = Object.entries(COLORS)
    .map(([outcome, color]) => `<span><i style="background:${color}"></i>${outcome}</span>`)
    .join('');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>lease-guard demo, seed ${summary.seed}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #212121; }
table { border-collapse: collapse; margin-bottom: 16px; }
td { border: 1px solid #ddd; padding: 4px 8px; vertical-align: top; }
td:first-child { color: #616161; }
h2 small { font-weight: normal; color: #757575; }
.scroll { overflow-x: auto; }
svg { display: block; }
.lane { font-size: 12px; fill: #424242; }
.ticklabel { font-size: 10px; fill: #757575; }
.fence { font-size: 10px; fill: #1b5e20; pointer-events: none; }
.faultlabel { font-size: 10px; fill: #e65100; }
.grid { stroke: #eee; }
.tick { stroke: #bdbdbd; stroke-dasharray: 2 3; }
.fault { fill: #ffb300; fill-opacity: 0.18; stroke: #ffb300; stroke-opacity: 0.5; }
.legend span { margin-right: 14px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
.legend i.fault { background: #ffe082; }
</style>
</head>
<body>
<h1>lease-guard demo</h1>
<table>${rows.map(([name, value]) => `<tr><td>${escapeHtml(name)}</td><td>${escapeHtml(value)}</td></tr>`).join('')}</table>
<p class="legend">${legend}<span><i class="fault"></i>fault in force</span> Solid bar: the body ran, labelled with its fencing token. Thin bar: the invocation. Time runs left to right on the supervisor's clock.</p>
${charts.join('\n')}
</body>
</html>
`;
}
