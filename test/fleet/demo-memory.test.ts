import { describe, expect, it } from 'vitest';
import { type DemoResult, runDemo } from '../../src/fleet/demo-run.js';
import { NoMysqlServerError } from '../../src/local/find-mysql.js';

// A machine with only Node.js and npm: no MariaDB/MySQL binary, none installable. The demo still
// runs, on the in-memory store in the supervisor, and says so in one line.
describe('lease-guard demo without a SQL server', () => {
  it('runs on the in-memory store, says so, and every invariant holds', async () => {
    const lines: string[] = [];
    let started = false;
    const result: DemoResult = await runDemo({
      ticks: 8,
      regions: 2,
      seed: 7,
      startSql: async () => {
        started = true;
        throw new NoMysqlServerError('No MariaDB or MySQL server found (looked for mariadbd and mysqld).');
      },
      print: (line) => lines.push(line),
    });
    expect(started).toBe(true);
    expect(lines.filter((line) => /in-memory store/.test(line) && !/^ +fault/.test(line))).toEqual([
      expect.stringMatching(/^database: no MariaDB or MySQL server here.*running on the in-memory store/),
    ]);
    const { summary } = result;
    expect(summary.violations).toEqual([]);
    expect(summary).toMatchObject({ ok: true, database: 'memory', ticks: 8 });
    expect(summary.invariants).toMatchObject({ overlappingRuns: 0, ticksCompletedTwice: 0, forbiddenRuns: 0 });
    expect(summary.jobs.every((job) => job.register === null)).toBe(true);
    // What needs SQL is skipped and said so; the rest strikes as usual.
    expect(Object.fromEntries(summary.faults.map((fault) => [fault.kind, fault.applied]))).toEqual({
      'clock-skew': true,
      'kill-holder': true,
      'lost-response': false,
      'pause-database': false,
      resuming: false,
      'owner-dark': true,
    });
  });

  it('does not hide other start-up failures behind the fallback', async () => {
    await expect(
      runDemo({
        ticks: 8,
        regions: 2,
        seed: 7,
        startSql: async () => {
          throw new Error('the server is there but would not start');
        },
        print: () => undefined,
      }),
    ).rejects.toThrow(/would not start/);
  });
});
