/**
 * Issue 14's smaller holes, each against the real database through the public API:
 * - odd-throw: a body throws `Object.create(null)` (no toString): the failure is still released
 *   and recorded, and the handler rethrows that very value;
 * - connect-deadline: the mysql2 executor facing a server that accepts and never speaks gives up
 *   at the attempt's deadline, not at mysql2's connect timeout;
 * - temp-table: a `CREATE TEMPORARY TABLE lease_guard` through the local Data API must not shadow
 *   the real table for later calls (two holders got fence 1);
 * - tick-ahead: a tick two minutes ahead of the database clock must not run and push the
 *   completed mark past the real tick that is due now;
 * - wrapped-tick: a Scheduler input that wraps (`detail.scheduledTime`) or misspells the tick must
 *   not run lease-only in silence: refused with `requireTick`, and a WARN without it.
 * The control runs each check against the behaviour before issue 14 and must be caught by every one.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createTableSql } from '../../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../../src/lease/sql-lease-store.js';
import type { SqlExecutor } from '../../../src/sql/executor.js';
import { createMysql2Executor } from '../../../src/sql/mysql2-executor.js';
import { currentTick, delegate, EDGE_OPTIONS, edgeHandler, edgeStore, schedulerEvent } from '../edge-handler.js';
import type { FaultViolation, Scenario, ScenarioContext, ScenarioReport } from '../scenario.js';

type Check = (context: ScenarioContext, control: boolean) => Promise<{ violations: FaultViolation[]; note: string }>;

const oddThrow: Check = async (context, control) => {
  const { environment } = context;
  const { store, executor } = edgeStore(environment);
  const job = `odd-throw-${context.runId}${control ? '-control' : ''}`;
  const thrown = Object.create(null) as object;
  // Before issue 14 the failure's text was made with String(error), which throws for this value
  // before the release is sent; the control's store does the same.
  const used = control
    ? {
        ...delegate(store),
        release: (request: Parameters<typeof store.release>[0], options?: Parameters<typeof store.release>[1]) =>
          request.outcome === 'failure'
            ? Promise.reject(new TypeError(String(thrown)))
            : store.release(request, options),
      }
    : store;
  try {
    const guarded = edgeHandler({ job, store: used, ...EDGE_OPTIONS }, () => {
      throw thrown;
    });
    const answer = await guarded.invoke({}, { requestId: `${job}-1` });
    const state = await store.inspect(job);
    const violations: FaultViolation[] = [];
    if (answer.kind !== 'threw' || answer.error !== thrown) {
      violations.push({
        invariant: 'error-replaced',
        job,
        message: `the handler answered ${answer.kind}, not the body's value`,
      });
    }
    if (state?.held !== false || state.failures !== 1) {
      violations.push({
        invariant: 'release-skipped',
        job,
        message: `after the body threw, held ${state?.held}, failures ${state?.failures}`,
      });
    }
    return { violations, note: `odd-throw: released ${state?.held === false}, failures ${state?.failures}` };
  } finally {
    await executor.close();
  }
};

/** A TCP server that accepts connections and never says a word (a black-holed MySQL). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const ATTEMPT_MS = 300;
/** mysql2's own connect timeout in this check; the attempt must end long before it. */
const CONNECT_TIMEOUT_MS = 20_000;
/** Generous for a loaded machine, and still a fraction of the connect timeout. */
const BOUND_MS = 5_000;

const connectDeadline: Check = async (context, control) => {
  const job = `connect-deadline-${context.runId}`;
  const silent = await silentServer();
  const real = createMysql2Executor({
    url: `mysql://lease:lease@127.0.0.1:${silent.port}/lease`,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  });
  // Before issue 14 the executor did not pass the deadline to the pool while connecting.
  const executor: SqlExecutor = control
    ? { execute: (statement) => real.execute(statement), close: () => real.close() }
    : real;
  try {
    const started = performance.now();
    const settled = await Promise.race([
      executor.execute({ sql: 'SELECT 1' }, { signal: AbortSignal.timeout(ATTEMPT_MS) }).then(
        () => 'answered',
        (error: { code?: string }) => `failed ${error?.code ?? 'unknown'}`,
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), BOUND_MS).unref()),
    ]);
    const violations: FaultViolation[] =
      settled === 'failed ConnectTimeout'
        ? []
        : [
            {
              invariant: 'deadline-ignored',
              job,
              message: `a ${ATTEMPT_MS} ms attempt against a silent server: ${settled} after ${Math.round(performance.now() - started)} ms`,
            },
          ];
    return { violations, note: `connect-deadline: ${settled}` };
  } finally {
    await silent.close();
    await real.close().catch(() => undefined);
  }
};

const tempTable: Check = async (context, control) => {
  const { environment } = context;
  const job = `temp-table-${context.runId}${control ? '-control' : ''}`;
  // The control runs the same calls over one plain connection, where session state does persist.
  const { executor: dataApi } = edgeStore(environment);
  const executor = control ? createMysql2Executor({ url: environment.mysqlUrl, connectionLimit: 1 }) : dataApi;
  try {
    const ddl = createTableSql(environment.table).replace('CREATE TABLE IF NOT EXISTS', 'CREATE TEMPORARY TABLE');
    await executor.execute({ sql: ddl });
    const store = createSqlLeaseStore({ executor, table: environment.table });
    const a = await store.claim({ job, holder: 'temp-a', leaseMs: 60_000 });
    const b = await store.claim({ job, holder: 'temp-b', leaseMs: 60_000 });
    const truth = await createSqlLeaseStore({ executor: environment.executor, table: environment.table }).inspect(job);
    const violations: FaultViolation[] = [];
    if (a.acquired && b.acquired) {
      violations.push({ invariant: 'overlap', job, message: `two holders won (fences ${a.fence} and ${b.fence})` });
    }
    if (truth?.holder !== 'temp-a') {
      violations.push({
        invariant: 'shadowed',
        job,
        message: `the real table's holder is ${truth?.holder ?? 'missing'}`,
      });
    }
    return {
      violations,
      note: `temp-table: claims ${a.acquired}/${b.acquired}, real holder ${truth?.holder ?? 'none'}`,
    };
  } finally {
    await dataApi.close();
    if (control) await executor.close();
  }
};

const tickAhead: Check = async (context, control) => {
  const { environment } = context;
  const { store, executor } = edgeStore(environment);
  const job = `tick-ahead-${context.runId}${control ? '-control' : ''}`;
  try {
    // The control uses the default before issue 14 (5 minutes ahead allowed).
    const guarded = edgeHandler({ job, store, ...EDGE_OPTIONS, ...(control ? { maxTickAheadMs: 5 * 60_000 } : {}) });
    const due = await currentTick(environment);
    const ahead = new Date(due.getTime() + 2 * 60_000);
    const early = await guarded.invoke(schedulerEvent(ahead), { requestId: `${job}-ahead` });
    const real = await guarded.invoke(schedulerEvent(due), { requestId: `${job}-due` });
    const violations: FaultViolation[] =
      real.kind === 'ran'
        ? []
        : [
            {
              invariant: 'lost-tick',
              job,
              message: `the tick due now was refused (${real.kind === 'skipped' ? real.reason : real.kind}) after one 2 min ahead ${early.kind}`,
            },
          ];
    const show = (answer: typeof early) => (answer.kind === 'skipped' ? `skipped ${answer.reason}` : answer.kind);
    return { violations, note: `tick-ahead: +2 min ${show(early)}, due tick ${show(real)}` };
  } finally {
    await executor.close();
  }
};

const wrappedTick: Check = async (context, control) => {
  const { environment } = context;
  const { store, executor } = edgeStore(environment);
  const job = `wrapped-tick-${context.runId}${control ? '-control' : ''}`;
  try {
    const tick = (await currentTick(environment)).toISOString();
    const events = [{ detail: { scheduledTime: tick } }, { scheduled_time: tick }, { detail: { ScheduledTime: tick } }];
    // Before issue 14 nothing looked for a misplaced tick and requireTick did not exist.
    const strict = edgeHandler({ job, store, ...EDGE_OPTIONS, ...(control ? { tick: 'off' } : { requireTick: true }) });
    const lenient = edgeHandler({ job: `${job}-lenient`, store, ...EDGE_OPTIONS, ...(control ? { tick: 'off' } : {}) });
    const violations: FaultViolation[] = [];
    for (const [index, event] of events.entries()) {
      const refused = await strict.invoke(event, { requestId: `${job}-strict-${index}` });
      if (refused.kind === 'ran') {
        violations.push({
          invariant: 'lease-only',
          job,
          message: `${JSON.stringify(event)} ran without a tick under requireTick`,
        });
      }
      const warnings = lenient.seen.lines.filter((line) => line.level === 'warn').length;
      const ran = await lenient.invoke(event, { requestId: `${job}-lenient-${index}` });
      const warned = lenient.seen.lines.filter((line) => line.level === 'warn').length > warnings;
      if (ran.kind === 'ran' && !warned) {
        violations.push({
          invariant: 'silent-lease-only',
          job,
          message: `${JSON.stringify(event)} ran lease-only without a WARN`,
        });
      }
    }
    return { violations, note: `wrapped-tick: ${events.length} shapes, ${strict.runs.length} ran under requireTick` };
  } finally {
    await executor.close();
  }
};

const CHECKS: readonly (readonly [string, Check])[] = [
  ['odd-throw', oddThrow],
  ['connect-deadline', connectDeadline],
  ['temp-table', tempTable],
  ['tick-ahead', tickAhead],
  ['wrapped-tick', wrappedTick],
];

async function runHoles(context: ScenarioContext, control: boolean): Promise<ScenarioReport> {
  const violations: FaultViolation[] = [];
  const notes: string[] = [];
  const missed: string[] = [];
  for (const [name, check] of CHECKS) {
    const result = await check(context, control);
    violations.push(...result.violations);
    notes.push(result.note);
    if (control && result.violations.length === 0) missed.push(name);
  }
  // A control must be caught by every check, or that check proved nothing.
  if (missed.length > 0) throw new Error(`the control was not caught by: ${missed.join(', ')}`);
  return { faults: CHECKS.length, invocations: 0, runs: 0, violations, notes };
}

export const edgeHoles: Scenario = {
  name: 'edge-holes',
  catalogue: 'F3 F10 L4 (issue 14 holes)',
  proves:
    'An odd thrown value is still released; a connect honours the attempt deadline; a temporary table never shadows the lease table; a tick ahead of the database cannot block the tick due now; a wrapped or misspelled tick never runs lease-only in silence.',
  run: (context) => runHoles(context, false),
};

export const edgeHolesControl: Scenario = {
  name: 'edge-holes-control',
  catalogue: 'F3 F10 L4 (control)',
  proves: 'Each of those checks catches the behaviour before issue 14.',
  control: true,
  run: (context) => runHoles(context, true),
};
