import { describe, expect, it } from 'vitest';
import { completionLag } from '../../src/lease/lag.js';

const NOW = new Date('2026-11-30T12:00:00Z');
const ago = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);

describe('completionLag', () => {
  it('is the time from the last completed tick to the database now', () => {
    expect(completionLag({ tickDone: ago(7), dbNow: NOW })).toEqual({ lagMs: 7 * 60_000, overdue: false });
  });

  it('is overdue only past periods × period', () => {
    const options = { periodMs: 5 * 60_000, periods: 3 };
    expect(completionLag({ tickDone: ago(15), dbNow: NOW }, options).overdue).toBe(false);
    expect(completionLag({ tickDone: ago(16), dbNow: NOW }, options).overdue).toBe(true);
    expect(completionLag({ tickDone: ago(6), dbNow: NOW }, { periodMs: 5 * 60_000 }).overdue).toBe(true);
  });

  it('has no lag for a job that never completed, and counts from its first claim for overdue', () => {
    expect(completionLag({ tickDone: null, dbNow: NOW }, { periodMs: 60_000 })).toEqual({
      lagMs: null,
      overdue: false,
    });
    expect(completionLag({ tickDone: null, dbNow: NOW, createdAt: ago(3) }, { periodMs: 60_000, periods: 2 })).toEqual({
      lagMs: null,
      overdue: true,
    });
  });

  it('counts a completed tick ahead of the database clock as no lag', () => {
    expect(completionLag({ tickDone: new Date(NOW.getTime() + 5_000), dbNow: NOW }).lagMs).toBe(0);
  });

  it('fails on a period or a count that is not positive', () => {
    expect(() => completionLag({ tickDone: null, dbNow: NOW }, { periodMs: 0 })).toThrow(/periodMs must be a positive/);
    expect(() => completionLag({ tickDone: null, dbNow: NOW }, { periodMs: 1, periods: -1 })).toThrow(
      /periods must be a positive/,
    );
  });
});
