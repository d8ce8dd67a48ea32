/**
 * lease-guard's own CPU per invocation with the database taken out: the middleware as users run
 * it (middy, holder, tick, guard, observer with its log line and metrics serialised, store, retry
 * and deadline) over an executor that answers at once, a refusal for losers, a fence and a release
 * for winners. Contended runs (`npm run bench -- --only peers`) mix this with the driver, the
 * database and the machine's load; this isolates the part lease-guard's own code decides.
 *
 *   npx tsx bench/client-cpu.ts [invocations per round, 20000] [rounds, 5]
 */
import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import { fleetLambdaContext } from '../src/fleet/lambda-context.js';
import type { LeaseGuardLogger, LeaseGuardMetrics } from '../src/guard/observe.js';
import { leaseGuard } from '../src/middleware/lease-guard.js';
import type { SqlExecutor, SqlResult } from '../src/sql/executor.js';

// As the benchmark's lease-guard peer does: serialised like Powertools' JSON lines, then dropped.
const sink = (line: unknown): void => {
  JSON.stringify(line);
};
const logger: LeaseGuardLogger = { info: sink, warn: sink, error: sink };
const metrics: LeaseGuardMetrics = { singleMetric: () => ({ addDimension: sink, addMetric: sink }) };

function handlerFor(win: boolean) {
  let fence = 0;
  // The claim statement is the one that sets LAST_INSERT_ID: its answer is fence × 16, or a refusal code (1: held).
  const executor: SqlExecutor = {
    async execute(statement): Promise<SqlResult> {
      if (statement.sql.includes('LAST_INSERT_ID')) {
        return { affectedRows: 1, insertId: win ? ++fence * 16 : 1, rows: [] };
      }
      return { affectedRows: 1, insertId: 0, rows: [] };
    },
    close: async () => {},
  };
  return middy()
    .use(leaseGuard({ job: 'micro', executor, logger, metrics }))
    .handler(async () => ({ ran: true }));
}

async function measure(win: boolean, n: number): Promise<number> {
  const handler = handlerFor(win);
  const tick = Date.now();
  const run = async (i: number) => {
    const context = fleetLambdaContext({
      functionName: 'bench-micro',
      region: 'us-east-1',
      requestId: randomUUID(),
      timeoutMs: 60_000,
    });
    await handler({ scheduledTime: new Date(tick - (tick % 60_000)).toISOString(), i } as never, context as never);
  };
  for (let i = 0; i < 2000; i++) await run(i);
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) await run(i);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000 / n;
}

const n = Number(process.argv[2] ?? 20000);
const rounds = Number(process.argv[3] ?? 5);
const lose: number[] = [];
const win: number[] = [];
for (let r = 0; r < rounds; r++) {
  lose.push(await measure(false, n));
  win.push(await measure(true, n));
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
console.log(
  `client CPU per invocation: loser ${(med(lose) * 1000).toFixed(1)} us  winner ${(med(win) * 1000).toFixed(1)} us  (${lose.map((x) => (x * 1000).toFixed(1)).join(' ')} | ${win.map((x) => (x * 1000).toFixed(1)).join(' ')})`,
);
