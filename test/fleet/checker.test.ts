import { describe, expect, it } from 'vitest';
import { checkHistory, Invariant } from '../../src/fleet/checker.js';
import {
  Delivery,
  type FleetJob,
  type History,
  InvocationOutcome,
  type InvocationRecord,
  RegisterVariant,
  RegisterWrite,
} from '../../src/fleet/history.js';

const PER_TICK: FleetJob = { job: 'report', mode: 'per-tick', register: null };
const AFFINITY: FleetJob = { job: 'sync', mode: 'affinity', register: null };
const T1 = '2026-11-25T09:00:00.000Z';
const T2 = '2026-11-25T09:01:00.000Z';
const T3 = '2026-11-25T09:02:00.000Z';

let sequence = 0;

/** A run that won the claim; body from `at` to `at + ms` in observer time. */
function ran(tick: string | null, at: number, fence: number, extra: Partial<InvocationRecord> = {}): InvocationRecord {
  const id = `i${++sequence}`;
  return {
    invocationId: id,
    job: 'report',
    region: 'us-east-1',
    tick,
    attempt: 1,
    requestId: `r-${id}`,
    delivery: Delivery.SCHEDULED,
    pid: 100,
    outcome: InvocationOutcome.RAN,
    reason: null,
    fence,
    holder: `h-${id}`,
    claimAttempts: 1,
    startObs: at - 5,
    endObs: at + 105,
    bodyStartObs: at,
    bodyEndObs: at + 100,
    register: null,
    ...extra,
  };
}

function skipped(tick: string | null, at: number, reason: string, extra: Partial<InvocationRecord> = {}) {
  return ran(tick, at, 0, {
    outcome: InvocationOutcome.SKIPPED,
    reason,
    fence: null,
    holder: null,
    bodyStartObs: null,
    bodyEndObs: null,
    ...extra,
  });
}

function history(invocations: InvocationRecord[], jobs: FleetJob[] = [PER_TICK], registers = {}): History {
  return { jobs, invocations, nemeses: [], registers };
}

function invariants(h: History): string[] {
  return checkHistory(h).violations.map((violation) => violation.invariant);
}

describe('checkHistory', () => {
  it('passes a clean history: one run per tick, duplicates skipped, fences rising', () => {
    const report = checkHistory(
      history([
        ran(T1, 0, 1),
        skipped(T1, 10, 'held'),
        ran(T2, 1000, 2),
        skipped(T2, 1300, 'tick-done', { delivery: Delivery.LATE }),
        ran(T3, 2000, 3),
        skipped(T1, 2500, 'replay', { delivery: Delivery.REPLAY }),
      ]),
    );
    expect(report.ok).toBe(true);
    expect(report.jobs[0]).toMatchObject({
      ticks: 3,
      runs: 3,
      invocations: 6,
      skips: { held: 1, 'tick-done': 1, replay: 1 },
      overlaps: [],
      ticksRunTwice: [],
      fences: { holders: 3, regressions: [] },
      liveness: { ran: 3, superseded: [], missed: [] },
      forbiddenRuns: [],
    });
  });

  it('reports two bodies running at once, with the overlap length', () => {
    const first = ran(T1, 0, 1);
    const second = ran(T2, 60, 2);
    const report = checkHistory(history([first, second]));
    expect(report.jobs[0]?.overlaps).toEqual([
      { first: first.invocationId, second: second.invocationId, overlapMs: 40 },
    ]);
    expect(report.violations).toEqual([
      expect.objectContaining({
        invariant: Invariant.OVERLAP,
        invocationIds: [first.invocationId, second.invocationId],
      }),
    ]);
  });

  it('counts a killed body as running until its process was seen dead', () => {
    const killed = ran(T1, 0, 1, {
      outcome: InvocationOutcome.KILLED,
      reason: 'timeout',
      bodyEndObs: null,
      endObs: 2000,
    });
    const next = ran(T1, 1500, 2);
    expect(checkHistory(history([killed, next])).jobs[0]?.overlaps).toEqual([
      { first: killed.invocationId, second: next.invocationId, overlapMs: 100 },
    ]);
    // The same kill, with the next holder after the death: no overlap.
    expect(invariants(history([killed, ran(T1, 2001, 2)]))).toEqual([]);
  });

  it('accepts a body that starts exactly when the one before it ended', () => {
    expect(invariants(history([ran(T1, 0, 1), ran(T2, 100, 2)]))).toEqual([]);
  });

  it('reports a tick that ran to success twice', () => {
    const a = ran(T1, 0, 1);
    const b = ran(T1, 500, 2, { delivery: Delivery.LATE });
    const report = checkHistory(history([a, b]));
    expect(report.jobs[0]?.ticksRunTwice).toEqual([{ tick: T1, invocationIds: [a.invocationId, b.invocationId] }]);
    expect(invariants(history([a, b]))).toEqual([Invariant.TICK_TWICE]);
  });

  it('does not count a failed run as completing its tick', () => {
    const failed = ran(T1, 0, 1, { outcome: InvocationOutcome.FAILED, reason: 'Error: boom' });
    expect(invariants(history([failed, ran(T1, 500, 2, { attempt: 2 })]))).toEqual([]);
  });

  it('reports fencing tokens that do not strictly increase across holders', () => {
    const a = ran(T1, 0, 5);
    const same = ran(T2, 500, 5);
    const lower = ran(T3, 1000, 4);
    const report = checkHistory(history([a, same, lower]));
    expect(report.jobs[0]?.fences.regressions).toEqual([
      { previous: { invocationId: a.invocationId, fence: 5 }, next: { invocationId: same.invocationId, fence: 5 } },
      { previous: { invocationId: same.invocationId, fence: 5 }, next: { invocationId: lower.invocationId, fence: 4 } },
    ]);
    expect(invariants(history([a, same, lower]))).toEqual([Invariant.FENCE_ORDER, Invariant.FENCE_ORDER]);
  });

  it('reports a tick that never ran when no later tick ran; a superseded tick is not a violation', () => {
    const missed = history([ran(T1, 0, 1), skipped(T2, 500, 'held'), skipped(T3, 900, 'held')]);
    expect(checkHistory(missed).jobs[0]?.liveness).toEqual({ ran: 1, superseded: [], missed: [T2, T3] });
    expect(invariants(missed)).toEqual([Invariant.LIVENESS, Invariant.LIVENESS]);
    expect(checkHistory(missed, { liveness: false }).ok).toBe(true);

    const superseded = history([ran(T1, 0, 1), skipped(T2, 500, 'standby'), ran(T3, 1000, 2)]);
    expect(checkHistory(superseded).jobs[0]?.liveness).toEqual({ ran: 2, superseded: [T2], missed: [] });
    expect(invariants(superseded)).toEqual([]);
  });

  it('leaves stale, forged and replayed ticks out of liveness, and reports any of them that ran', () => {
    const stale = skipped('2026-11-25T07:00:00.000Z', 10, 'stale-tick', { delivery: Delivery.STALE });
    const forged = ran('2026-11-26T09:00:00.000Z', 500, 2, { delivery: Delivery.FORGED });
    const report = checkHistory(history([ran(T1, 0, 1), stale, forged]));
    expect(report.jobs[0]?.ticks).toBe(1);
    expect(report.jobs[0]?.forbiddenRuns).toEqual([forged.invocationId]);
    expect(report.violations.map((v) => v.invariant)).toEqual([Invariant.FORBIDDEN_RUN]);
  });

  it('counts failovers of an affinity job by owner changes between successive holders', () => {
    const records = [
      ran(T1, 0, 1, { job: 'sync', region: 'us-east-1' }),
      ran(T2, 500, 2, { job: 'sync', region: 'us-east-1' }),
      ran(T3, 1000, 3, { job: 'sync', region: 'eu-west-1' }),
    ];
    const report = checkHistory(history(records, [AFFINITY]));
    expect(report.jobs[0]?.failovers).toEqual([
      { from: 'us-east-1', to: 'eu-west-1', tick: T3, invocationId: records[2]?.invocationId, atObs: 1000 },
    ]);
    expect(report.ok).toBe(true);
    // A per-tick job has no owner to fail over.
    const perTick = records.map((record) => ({ ...record, job: 'report' }));
    expect(checkHistory(history(perTick)).jobs[0]?.failovers).toEqual([]);
  });

  describe('the protected register (set-full check)', () => {
    const FENCED: FleetJob = { job: 'report', mode: 'per-tick', register: RegisterVariant.FENCED };
    const UNFENCED: FleetJob = { ...FENCED, register: RegisterVariant.UNFENCED };

    function writer(tick: string, at: number, fence: number, write: RegisterWrite) {
      const record = ran(tick, at, fence);
      return { ...record, register: { element: record.invocationId, write } };
    }

    it('passes when every acknowledged write is there once and unknown writes go either way', () => {
      const a = writer(T1, 0, 1, RegisterWrite.WRITTEN);
      const b = writer(T2, 500, 2, RegisterWrite.UNKNOWN);
      const c = writer(T3, 1000, 3, RegisterWrite.UNKNOWN);
      const report = checkHistory(history([a, b, c], [FENCED], { report: [a.invocationId, b.invocationId] }));
      expect(report.jobs[0]?.register).toEqual({
        variant: 'fenced',
        written: 1,
        rejected: 0,
        unknown: 2,
        lost: [],
        duplicated: [],
        phantom: [],
      });
      expect(report.ok).toBe(true);
    });

    it('reports a lost update, a duplicate and a refused write that appeared anyway', () => {
      const lost = writer(T1, 0, 1, RegisterWrite.WRITTEN);
      const twice = writer(T2, 500, 2, RegisterWrite.WRITTEN);
      const refused = writer(T3, 1000, 3, RegisterWrite.REJECTED);
      const contents = [twice.invocationId, twice.invocationId, refused.invocationId, 'i-never'];
      const report = checkHistory(history([lost, twice, refused], [FENCED], { report: contents }));
      expect(report.jobs[0]?.register).toMatchObject({
        lost: [lost.invocationId],
        duplicated: [twice.invocationId],
        phantom: [refused.invocationId, 'i-never'],
      });
      expect(report.violations.map((v) => v.invariant)).toEqual([Invariant.REGISTER]);
    });

    it('reports corruption of the unfenced variant without calling it a violation', () => {
      const a = writer(T1, 0, 1, RegisterWrite.WRITTEN);
      const b = writer(T2, 500, 2, RegisterWrite.WRITTEN);
      const report = checkHistory(history([a, b], [UNFENCED], { report: [b.invocationId] }));
      expect(report.jobs[0]?.register?.lost).toEqual([a.invocationId]);
      expect(report.ok).toBe(true);
    });
  });
});
