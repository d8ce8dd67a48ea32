import { describe, expect, it } from 'vitest';
import { renderDemoHtml, TICK_PX } from '../../src/fleet/demo-html.js';
import type { DemoPlan } from '../../src/fleet/demo-scenario.js';
import type { DemoSummary } from '../../src/fleet/demo-summary.js';
import {
  Delivery,
  type History,
  InvocationOutcome,
  type InvocationRecord,
  type NemesisRecord,
} from '../../src/fleet/history.js';
import { outside, overlaps, readCharts } from '../support/svg-geometry.js';

const START = 1_000_000;
const MINUTE = 60_000;
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
// Uneven gaps on the supervisor's clock, as the demo leaves after some faults (tick 3 -> 4 wider).
const TICK_AT_MS = [300, 1300, 2300, 5300, 6300, 7300, 8300, 9300, 10300, 11300, 12300, 13300];

function record(partial: Partial<InvocationRecord> & Pick<InvocationRecord, 'region' | 'outcome'>): InvocationRecord {
  return {
    invocationId: `i${Math.random()}`,
    job: 'demo-report',
    tick: null,
    attempt: 1,
    requestId: 'r',
    delivery: Delivery.SCHEDULED,
    pid: 1,
    reason: null,
    fence: null,
    holder: null,
    claimAttempts: 1,
    startObs: START,
    endObs: START,
    bodyStartObs: null,
    bodyEndObs: null,
    register: null,
    ...partial,
  };
}

function nemesis(kind: string, target: string, atMs: number, forMs: number | null): NemesisRecord {
  return { kind, target, detail: null, startObs: START + atMs, endObs: forMs === null ? null : START + atMs + forMs };
}

function chartInput() {
  const ticks = TICK_AT_MS.map((_, k) => new Date(Date.UTC(2026, 0, 1, 9, k)));
  const invocations: InvocationRecord[] = TICK_AT_MS.flatMap((at, k) => {
    const tick = (ticks[k] as Date).toISOString();
    const runner = REGIONS[k % 3] as string;
    // The last tick's body runs on well past the tick.
    const bodyMs = k === TICK_AT_MS.length - 1 ? 1500 : 300;
    return [
      record({
        region: runner,
        outcome: InvocationOutcome.RAN,
        tick,
        fence: k + 1,
        startObs: START + at,
        bodyStartObs: START + at + 40,
        bodyEndObs: START + at + 40 + bodyMs,
        endObs: START + at + 80 + bodyMs,
      }),
      // Skips answered in a few milliseconds.
      ...REGIONS.filter((region) => region !== runner).map((region) =>
        record({
          region,
          outcome: InvocationOutcome.SKIPPED,
          reason: 'held',
          tick,
          startObs: START + at + 5,
          endObs: START + at + 9,
        }),
      ),
    ];
  });
  // A body the guard gave up (the worker exited 1).
  invocations.push(
    record({
      region: 'us-east-1',
      outcome: InvocationOutcome.KILLED,
      reason: 'exit 1',
      tick: ticks[1]?.toISOString() ?? null,
      fence: 99,
      startObs: START + 1290,
      bodyStartObs: START + 1330,
      endObs: START + 3100,
    }),
  );
  const nemeses = [
    nemesis('data-api-lost-response', 'data-api', 3100, 50),
    nemesis('pause-database', 'database', 5200, 1000),
    // Two faults starting a fraction of a pixel apart: their labels must not overprint.
    nemesis('data-api-resuming', 'data-api', 7200, 600),
    nemesis('region-dark', 'us-east-1', 7201, 4000),
  ];
  const plan = {
    seed: 7,
    granularityMs: MINUTE,
    ticks,
    tickAtMs: TICK_AT_MS,
    regions: REGIONS.map((name, i) => ({ name, clockSkewMs: i === 1 ? 8 * MINUTE : 0, events: 'scheduler' })),
    jobs: [{ job: 'demo-report', mode: 'per-tick', register: 'fenced' }],
  } as unknown as DemoPlan;
  const summary = {
    ok: true,
    seed: 7,
    ticks: 12,
    tickGranularity: 'minute',
    regions: REGIONS,
    faults: [],
    forbiddenDeliveries: 0,
    invariants: {
      overlappingRuns: 0,
      ticksCompletedTwice: 0,
      fencesStrictlyIncreasing: true,
      failovers: 0,
      forbiddenRuns: 0,
      registerCorruption: 0,
    },
    violations: [],
  } as unknown as DemoSummary;
  const history = { jobs: [], invocations, nemeses, registers: {} } as unknown as History;
  return { plan, history, summary, startObs: START };
}

describe("the demo's HTML chart, read as geometry", () => {
  const html = renderDemoHtml(chartInput());
  const [chart] = readCharts(html);
  if (!chart) throw new Error('no chart rendered');

  it('draws everything inside its canvas, the last tick and its run included', () => {
    expect(outside(chart)).toEqual([]);
    const lastTick = chart.boxes.find((box) => box.className === 'ticklabel' && box.text.startsWith('12 '));
    expect(lastTick?.right).toBeLessThanOrEqual(chart.width);
  });

  it('never overprints a label: ticks and faults, even faults a fraction of a pixel apart', () => {
    expect(overlaps(chart, ['ticklabel', 'faultlabel'])).toEqual([]);
    expect(overlaps(chart, ['fence'])).toEqual([]);
  });

  it('spaces ticks evenly by schedule time, whatever the gaps on the supervisor clock', () => {
    const xs = chart.boxes.filter((box) => box.kind === 'line' && box.className === 'tick').map((box) => box.left);
    expect(xs).toHaveLength(12);
    const gaps = xs.slice(1).map((x, i) => x - (xs[i] as number));
    for (const gap of gaps) expect(gap).toBeCloseTo(TICK_PX, 1);
  });

  it('shades a dark region in its own lane only, and other faults across every lane', () => {
    const bands = chart.boxes.filter((box) => box.kind === 'rect' && box.className === 'fault');
    const dark = bands.find((band) => band.title.startsWith('us-east-1 dark'));
    const paused = bands.find((band) => band.title.startsWith('database paused'));
    const lane = chart.boxes.find((box) => box.className === 'lane' && box.text === 'us-east-1');
    expect(dark && paused && lane).toBeTruthy();
    expect((dark?.bottom ?? 0) - (dark?.top ?? 0)).toBeLessThan((paused?.bottom ?? 0) - (paused?.top ?? 0));
    // The band covers the lane its label names.
    expect(dark?.top).toBeLessThanOrEqual(lane?.top ?? 0);
    expect(dark?.bottom).toBeGreaterThanOrEqual(lane?.bottom ?? 0);
  });

  it('draws a skip answered in milliseconds wide enough to see', () => {
    const skips = chart.boxes.filter((box) => box.kind === 'rect' && /skip held/.test(box.title));
    expect(skips.length).toBeGreaterThan(0);
    for (const skip of skips) expect(skip.right - skip.left).toBeGreaterThanOrEqual(6);
  });

  it('names faults for people and calls a given-up body what the console calls it', () => {
    const labels = chart.boxes.filter((box) => box.className === 'faultlabel').map((box) => box.text);
    expect(labels).toEqual(['claim answer lost', 'database paused', 'Aurora resuming', 'us-east-1 dark']);
    const legend = /<p class="legend">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '';
    expect(legend).toContain('given up mid-run');
    expect(legend).not.toMatch(/>killed</);
  });

  it('adds the failover act as a section of its own, drawn by the same rules', () => {
    const input = chartInput();
    const act = {
      ticks: input.plan.ticks.slice(0, 4),
      tickAtMs: [300, 1800, 3300, 4800],
      granularityMs: 1000,
      regions: REGIONS.map((name) => ({ name, clockSkewMs: 0 })),
      jobs: [{ job: 'failover-report', mode: 'per-tick' as const }],
      history: {
        ...input.history,
        invocations: [],
        nemeses: [
          nemesis('primary-killed', 'primary', 3000, null),
          nemesis('replica-promoted', 'secondary', 3001, null),
        ],
      },
      startObs: START,
      notes: ['Checked: no two bodies at once, fencing tokens strictly increasing across the failover: ok.'],
    };
    const page = renderDemoHtml({ ...input, failover: act });
    expect(page).toContain("Failover act: the database's region goes down");
    expect(page).toContain('fencing tokens strictly increasing across the failover: ok.');
    const charts = readCharts(page);
    expect(charts).toHaveLength(2);
    const failover = charts[1];
    if (!failover) throw new Error('no failover chart');
    expect(outside(failover)).toEqual([]);
    expect(overlaps(failover, ['ticklabel', 'faultlabel'])).toEqual([]);
    expect(failover.boxes.filter((box) => box.className === 'faultlabel').map((box) => box.text)).toEqual([
      'primary killed',
      'replica promoted',
    ]);
  });
});
