import { describe, expect, it } from 'vitest';
import { shortestTickGapMinutes } from '../../src/cdk/schedule-gap.js';

describe('shortestTickGapMinutes', () => {
  it.each([
    ['rate(1 minute)', 1],
    ['rate(5 minutes)', 5],
    ['rate(2 hours)', 120],
    ['rate(1 day)', 1440],
    // Once a day, whatever the day fields: the next tick is a day or more later.
    ['cron(0 2 * * ? *)', 1440],
    ['cron(30 9 ? * MON-FRI *)', 1440],
    // Hourly at :00 and :20: 20 minutes, then 40.
    ['cron(0,20 * * * ? *)', 20],
    ['cron(*/15 * * * ? *)', 15],
    ['cron(5/10 8-17 * * ? *)', 10],
    // 23:50 and 00:10: the gap across midnight is the shortest.
    ['cron(50 23 * * ? *)', 1440],
    ['cron(10,50 0,23 * * ? *)', 20],
  ])('%s: %i minutes', (expression, minutes) => {
    expect(shortestTickGapMinutes(expression)).toBe(minutes);
  });

  it.each(['at(2030-01-01T00:00:00)', 'cron(L * * * ? *)', 'cron(0 25 * * ? *)'])(
    'cannot tell for %s',
    (expression) => {
      expect(shortestTickGapMinutes(expression)).toBeUndefined();
    },
  );
});
