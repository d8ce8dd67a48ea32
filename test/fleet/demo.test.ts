import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoResult, runDemo } from '../../src/fleet/demo-run.js';
import { DEMO_JOBS } from '../../src/fleet/demo-scenario.js';
import { freshDatabase } from '../support/database.js';
import { outside, overlaps, readCharts } from '../support/svg-geometry.js';

describe('lease-guard demo, run programmatically on the suite database', () => {
  let dir: string;
  let htmlPath: string;
  const lines: string[] = [];
  let result: DemoResult;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lease-guard-demo-'));
    htmlPath = join(dir, 'timeline.html');
    result = await runDemo({
      ticks: 8,
      regions: 2,
      seed: 42,
      mysqlUrl: await freshDatabase('demo'),
      htmlPath,
      print: (line) => lines.push(line),
    });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('holds every invariant through duplicates, replays, a killed holder, a lost answer and a dark owner', () => {
    const { summary } = result;
    expect(summary.violations).toEqual([]);
    expect(summary).toMatchObject({ ok: true, seed: 42, ticks: 8, database: 'external' });
    expect(summary.invariants).toEqual({
      overlappingRuns: 0,
      ticksCompletedTwice: 0,
      fencesStrictlyIncreasing: true,
      failovers: expect.any(Number),
      missedTicks: 0,
      forbiddenRuns: 0,
      registerCorruption: 0,
    });
    // The affinity job's owner went dark and the other region took over.
    const sync = summary.jobs.find((job) => job.job === DEMO_JOBS.SYNC);
    expect(sync?.failovers.length).toBeGreaterThanOrEqual(1);
    const report = summary.jobs.find((job) => job.job === DEMO_JOBS.REPORT);
    expect(report?.ticks).toBe(8);
    expect(report?.register).toMatchObject({ variant: 'fenced', lost: 0, duplicated: 0, phantom: 0 });
    expect(summary.forbiddenDeliveries).toBeGreaterThan(0);
    const faults = Object.fromEntries(summary.faults.map((fault) => [fault.kind, fault.applied]));
    // An external database has no process to pause; everything else struck.
    expect(faults).toEqual({
      'clock-skew': true,
      'kill-holder': true,
      'lost-response': true,
      'pause-database': false,
      resuming: true,
      'owner-dark': true,
    });
    // The killed holder's tick ran on Lambda's retry, with the same request id.
    const killed = result.history.invocations.find((record) => record.outcome === 'killed');
    const retried = result.history.invocations.find(
      (record) => record.requestId === killed?.requestId && record.attempt === 2,
    );
    expect(retried).toMatchObject({ outcome: 'ran', tick: killed?.tick });
  });

  it('prints plain lines: a header, one line per tick, the timeline and the summary', () => {
    const text = lines.join('\n');
    expect(text).toContain('seed 42');
    const ticks = lines.flatMap((line) => /^tick +(\d+)\/8 /.exec(line)?.[1] ?? []).map(Number);
    expect(ticks).toEqual([1, 2, 3, 4, 5, 6, 7, 8]); // in tick order, however their answers interleave
    expect(text).toContain('overlapping runs');
    expect(text).toContain('All invariants held.');
    // The given-up holder's worker ends on purpose, and says so; no SDK notice rides along.
    expect(text).toMatch(
      /worker \d+ in [a-z0-9-]+ exited as intended \(exit 1\): the guard gave its job body up mid-run/,
    );
    expect(text).not.toMatch(/died \(|NodeVersionSupportWarning/);
    // A fault aimed at one job is listed in that job's table only.
    const syncTable = text.slice(text.indexOf(`${DEMO_JOBS.SYNC} (affinity`));
    expect(syncTable).not.toContain('body given up');
    expect(
      text.slice(text.indexOf(`${DEMO_JOBS.REPORT} (per tick`), text.indexOf(`${DEMO_JOBS.SYNC} (affinity`)),
    ).toContain('body given up');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is that there are none
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  it('writes a self-contained HTML timeline', async () => {
    expect(result.htmlPath).toBe(htmlPath);
    const html = await readFile(htmlPath, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain(DEMO_JOBS.REPORT);
    // Nothing to fetch: no links, sources, imports or URLs of any kind.
    expect(html).not.toMatch(/https?:|src=|href=|@import|url\(|<script|<link/i);
    // A real run's chart: everything on the canvas, no tick or fault label over another.
    for (const chart of readCharts(html)) {
      expect(outside(chart)).toEqual([]);
      expect(overlaps(chart, ['ticklabel', 'faultlabel'])).toEqual([]);
    }
  });

  it('refuses an --html path in a folder that does not exist before running anything', async () => {
    const printed: string[] = [];
    const missing = join(dir, 'no-such-folder', 'timeline.html');
    await expect(runDemo({ htmlPath: missing, print: (line) => printed.push(line) })).rejects.toThrow(
      `the folder ${join(dir, 'no-such-folder')} does not exist; create it or choose another path (nothing was run)`,
    );
    expect(printed).toEqual([]);
  });
});
