/**
 * The demo's timeline as one self-contained HTML page: inline CSS and SVG, no script, no external
 * asset. One lane per region and job, ticks evenly spaced; a body that ran is a solid bar with its
 * fence, a skip a thin one, faults shaded across the lanes they hit and named underneath.
 * Hover shows each invocation.
 */
import { invocationLabel, killedWord, nemesisLabel, signedMinutes, tickLabel } from './demo-labels.js';
import type { DemoPlan } from './demo-scenario.js';
import type { DemoSummary } from './demo-summary.js';
import { type History, InvocationOutcome, type InvocationRecord } from './history.js';

export interface HtmlInput {
  readonly plan: DemoPlan;
  readonly history: History;
  readonly summary: DemoSummary;
  /** The observer time the schedule's offsets count from. */
  readonly startObs: number;
  /** The failover act, when it ran (`--failover`): its own section after the main timeline. */
  readonly failover?: ChartFrame & { readonly notes: readonly string[] };
}

/** What one section's charts are drawn from: a schedule of ticks, regions and what happened. */
export interface ChartFrame {
  readonly ticks: readonly Date[];
  /** When each tick was delivered, from `startObs`. */
  readonly tickAtMs: readonly number[];
  readonly granularityMs: number;
  readonly regions: readonly { readonly name: string; readonly clockSkewMs: number }[];
  readonly jobs: readonly Pick<DemoPlan['jobs'][number], 'job' | 'mode' | 'register'>[];
  readonly history: History;
  readonly startObs: number;
}

const LEFT = 170;
const RIGHT = 24;
/** Ticks are evenly spaced, this far apart; between two ticks time runs linearly. */
export const TICK_PX = 120;
const LANE = 40;
const TOP = 36;
const BOTTOM = 8;
/** Fault labels sit in rows under the lanes, a row further down where they would overprint. */
const LABEL_ROW = 14;
/** A generous width per character of the 10 px labels, so estimated boxes never undercut real ones. */
export const LABEL_CHAR_PX = 6.5;
const LABEL_GAP = 6;
/** A skip (or any invocation) is at least this wide, so it can be seen and hovered. */
const MIN_INVOCATION_PX = 6;
const MIN_BODY_PX = 4;

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

/**
 * Where a supervisor time goes on the axis: tick k at k * TICK_PX, linear between ticks, and at
 * the regular tick spacing before the first and after the last. The demo leaves wider gaps after
 * some faults; the axis is the schedule's, so ticks stay evenly spaced as their labels say.
 */
function scheduleAxis(tickObs: readonly number[]): (t: number) => number {
  const gaps = tickObs
    .slice(1)
    .map((at, i) => at - (tickObs[i] as number))
    .filter((gap) => gap > 0);
  const regularMs = gaps.length > 0 ? Math.min(...gaps) : 1000;
  const pxPerMs = TICK_PX / regularMs;
  const first = tickObs[0] ?? 0;
  const last = tickObs.at(-1) ?? first;
  return (t) => {
    if (tickObs.length === 0 || t <= first) return (t - first) * pxPerMs;
    if (t >= last) return (tickObs.length - 1) * TICK_PX + (t - last) * pxPerMs;
    const i = tickObs.findIndex((at, k) => t >= at && t < (tickObs[k + 1] as number));
    const from = tickObs[i] as number;
    const to = tickObs[i + 1] as number;
    return i * TICK_PX + ((t - from) / (to - from)) * TICK_PX;
  };
}

function labelWidth(text: string): number {
  return text.length * LABEL_CHAR_PX;
}

/** Rows for labels at `xs` (sorted by x): each goes in the first row where it clears the last one. */
function labelRows(labels: readonly { x: number; width: number }[]): number[] {
  const rowEnds: number[] = [];
  return labels.map(({ x, width }) => {
    let row = rowEnds.findIndex((end) => end + LABEL_GAP <= x);
    if (row < 0) row = rowEnds.push(0) - 1;
    rowEnds[row] = x + width;
    return row;
  });
}

/** One SVG chart per job of the frame, each with its heading. */
function renderCharts(plan: ChartFrame): string[] {
  const { history, startObs } = plan;
  const tickObs = plan.tickAtMs.map((at) => startObs + at);
  const axis = scheduleAxis(tickObs);
  const times = [
    startObs,
    ...history.invocations.flatMap((record) => [record.startObs, record.endObs]),
    ...history.nemeses.flatMap((nemesis) => [nemesis.startObs, nemesis.endObs ?? nemesis.startObs]),
  ];
  const origin = Math.min(...times.map(axis));
  const x = (t: number): number => LEFT + axis(t) - origin;
  const endObs = Math.max(...times);
  const laneOf = new Map(plan.regions.map((region, index) => [region.name, index]));

  function lane(record: InvocationRecord, y: number): { svg: string; right: number } {
    const title = `<title>${escapeHtml(
      `${record.invocationId} ${record.region}: ${invocationLabel(record)}\ntick ${record.tick ?? 'none'}, ${record.delivery}, attempt ${record.attempt}\n${seconds(record.startObs - startObs)} to ${seconds(record.endObs - startObs)}`,
    )}</title>`;
    const color = COLORS[record.outcome];
    const start = x(record.startObs);
    const width = Math.max(MIN_INVOCATION_PX, x(record.endObs) - start);
    const thin = `<rect x="${start.toFixed(1)}" y="${y + 22}" width="${width.toFixed(1)}" height="4" fill="${color}">${title}</rect>`;
    if (record.bodyStartObs === null) return { svg: thin, right: start + width };
    const bodyStart = x(record.bodyStartObs);
    const bodyWidth = Math.max(MIN_BODY_PX, x(record.bodyEndObs ?? record.endObs) - bodyStart);
    const fence = `#${record.fence ?? ''}`;
    return {
      svg: `${thin}<rect x="${bodyStart.toFixed(1)}" y="${y + 14}" width="${bodyWidth.toFixed(1)}" height="20" rx="2" fill="${color}">${title}</rect><text x="${bodyStart.toFixed(1)}" y="${y + 11}" class="fence">${fence}</text>`,
      right: Math.max(start + width, bodyStart + bodyWidth, bodyStart + labelWidth(fence)),
    };
  }

  const charts = plan.jobs.map((job) => {
    const records = history.invocations.filter((record) => record.job === job.job);
    const lanesBottom = TOP + plan.regions.length * LANE;
    const nemeses = history.nemeses
      .filter((nemesis) => nemesis.kind !== 'clock-skew')
      .map((nemesis) => ({ nemesis, fx: x(nemesis.startObs), text: nemesisLabel(nemesis) }))
      .sort((a, b) => a.fx - b.fx);
    const rows = labelRows(nemeses.map(({ fx, text }) => ({ x: fx, width: labelWidth(text) })));
    const rowCount = rows.length > 0 ? Math.max(...rows) + 1 : 0;
    const height = lanesBottom + rowCount * LABEL_ROW + BOTTOM + (rowCount > 0 ? 4 : 0);
    let right = 0;

    const laneBars = plan.regions.map((region, index) =>
      records
        .filter((record) => record.region === region.name)
        .map((record) => {
          const drawn = lane(record, TOP + index * LANE);
          right = Math.max(right, drawn.right);
          return drawn.svg;
        })
        .join(''),
    );
    const ticks = plan.ticks.map((tick, index) => {
      const tx = x(tickObs[index] as number);
      const text = `${index + 1} ${tickLabel(tick, plan.granularityMs)}`;
      right = Math.max(right, tx + 2 + labelWidth(text));
      return `<line x1="${tx.toFixed(1)}" x2="${tx.toFixed(1)}" y1="${TOP - 6}" y2="${lanesBottom}" class="tick"/><text x="${(tx + 2).toFixed(1)}" y="${TOP - 10}" class="ticklabel">${text}</text>`;
    });
    const faults = nemeses.map(({ nemesis, fx, text }, index) => {
      const band = Math.max(3, x(nemesis.endObs ?? endObs) - fx);
      // A fault on one region (it went dark, its worker froze) shades that region's lane only.
      const regionLane = laneOf.get(nemesis.target.split('/')[0] ?? '');
      const y = regionLane === undefined ? TOP : TOP + regionLane * LANE;
      const bandHeight = regionLane === undefined ? lanesBottom - TOP : LANE;
      const labelY = lanesBottom + 11 + (rows[index] as number) * LABEL_ROW;
      right = Math.max(right, fx + band, fx + labelWidth(text));
      const hover = `${text}: ${nemesis.target}${nemesis.detail ? `, ${nemesis.detail}` : ''}`;
      return `<rect x="${fx.toFixed(1)}" y="${y}" width="${band.toFixed(1)}" height="${bandHeight}" class="fault"><title>${escapeHtml(hover)}</title></rect><text x="${fx.toFixed(1)}" y="${labelY}" class="faultlabel">${escapeHtml(text)}</text>`;
    });
    const width = Math.ceil(right + RIGHT);
    const lanes = plan.regions.map((region, index) => {
      const y = TOP + index * LANE;
      const label = region.clockSkewMs === 0 ? region.name : `${region.name} (${signedMinutes(region.clockSkewMs)})`;
      return `<line x1="${LEFT}" x2="${width}" y1="${y + LANE}" y2="${y + LANE}" class="grid"/><text x="8" y="${y + 27}" class="lane">${escapeHtml(label)}</text>${laneBars[index]}`;
    });
    const mode = job.mode === 'affinity' ? 'affinity' : 'per tick';
    return `<h2>${escapeHtml(job.job)} <small>${mode}${job.register ? `, ${job.register} register` : ''}</small></h2>
<div class="scroll"><svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(job.job)} timeline">
${faults.join('')}${ticks.join('')}${lanes.join('')}
</svg></div>`;
  });

  return charts;
}

export function renderDemoHtml(input: HtmlInput): string {
  const { plan, history, summary, startObs } = input;
  const charts = renderCharts({ ...plan, history, startObs });
  const failover = input.failover
    ? `<h2>Failover act: the database's region goes down</h2>
${input.failover.notes.map((note) => `<p>${escapeHtml(note)}</p>`).join('\n')}
${renderCharts(input.failover).join('\n')}`
    : '';
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
  // The console's words: a body the guard gave up is `given up mid-run` there and here.
  const words: Readonly<Record<InvocationOutcome, string>> = {
    [InvocationOutcome.RAN]: 'ran',
    [InvocationOutcome.SKIPPED]: 'skipped',
    [InvocationOutcome.FAILED]: 'failed',
    [InvocationOutcome.KILLED]: killedWord(history.invocations),
    [InvocationOutcome.UNAVAILABLE]: 'unavailable',
  };
  const legend = (Object.entries(COLORS) as [InvocationOutcome, string][])
    .map(([outcome, color]) => `<span><i style="background:${color}"></i>${escapeHtml(words[outcome])}</span>`)
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
<p class="legend">${legend}<span><i class="fault"></i>fault in force</span> Solid bar: the body ran, labelled with its fencing token. Thin bar: the invocation. Ticks are evenly spaced in schedule time; between two ticks, time runs on the supervisor's clock.</p>
${charts.join('\n')}
${failover}
</body>
</html>
`;
}
