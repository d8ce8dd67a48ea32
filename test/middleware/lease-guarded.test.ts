/**
 * Issue 14 items 3-4 and issue 15 item 8, in-process against the real database: an answer
 * produced while the body may still run (the guard's deadline, middy's default early timeout, a
 * custom `timeoutEarlyResponse` that returns or throws) never records success, never frees the
 * lease, and ends the execution environment (`process.exit`, spied here) unless the body settled.
 * The child-process freeze (SIGSTOP/SIGCONT) is in test/faults/abandoned-body.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LeaseBodyAbandonedError } from '../../src/errors.js';
import { createEngine } from '../../src/guard/engine.js';
import { ExecutionModel } from '../../src/guard/execution.js';
import { type LeaseGuardOptions, parseLeaseGuardOptions } from '../../src/guard/options.js';
import type { LeaseGuardContext } from '../../src/guard/types.js';
import type { LeaseStore } from '../../src/lease/lease-store.js';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { leaseGuard } from '../../src/middleware/lease-guard.js';
import { leaseGuarded } from '../../src/middleware/lease-guarded.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { currentTick, lambdaContext, schedulerEvent } from '../fixtures/lambda.js';
import { captureObservability } from '../fixtures/observe.js';
import { freshDatabase } from '../support/database.js';
import { middyCores } from './middy-cores.js';

let sequence = 0;
const uniqueJob = (label: string) => `${label}-${++sequence}`;

describe.each(await middyCores())('abandoned bodies (leaseGuarded, %s)', (_, middy) => {
  let raw: ReturnType<typeof createMysql2Executor>;
  let inspector: LeaseStore;
  let exits: { remainingMs: number | undefined }[];
  let currentContext: LeaseGuardContext | undefined;

  beforeAll(async () => {
    raw = createMysql2Executor({ url: await freshDatabase('abandoned') });
    await migrate(raw, 'lease_guard');
    inspector = createSqlLeaseStore({ executor: raw });
  });
  afterAll(() => raw.close());
  afterEach(() => vi.restoreAllMocks());

  /** process.exit would end the test run: record when it was asked for instead. */
  function spyExit() {
    exits = [];
    vi.spyOn(process, 'exit').mockImplementation((() => {
      exits.push({ remainingMs: currentContext?.getRemainingTimeInMillis() });
    }) as never);
  }

  function options(job: string, seen = captureObservability()): LeaseGuardOptions {
    return { job, executor: raw, logger: seen.logger, metrics: seen.metrics, releaseTimeoutMs: 1_000 };
  }
  const reserveMs = (job: string) =>
    createEngine(parseLeaseGuardOptions(options(job)), { model: ExecutionModel.LAMBDA }).releaseReserveMs;

  /** A body that never settles and counts how many run at once. */
  function stuckBodies() {
    const state = { running: 0, most: 0, started: 0 };
    const body = () => {
      state.running++;
      state.started++;
      state.most = Math.max(state.most, state.running);
      return new Promise<never>(() => undefined);
    };
    return { state, body };
  }

  const context = (timeoutMs: number) => {
    currentContext = lambdaContext({ timeoutMs });
    return currentContext;
  };

  it.each([
    ['returns a value', () => ({ statusCode: 504 })],
    [
      'throws its own error',
      () => {
        throw new Error('gateway timeout');
      },
    ],
  ])(
    'a custom timeoutEarlyResponse that %s: no success, lease kept, environment ended before the answer; the retry cannot run beside it',
    async (_, timeoutEarlyResponse) => {
      spyExit();
      const job = uniqueJob('custom-timeout');
      const seen = captureObservability();
      const { state, body } = stuckBodies();
      // middy answers well before lease-guard's reserve: the case the guard cannot delay.
      const reserve = reserveMs(job);
      const handler = middy(leaseGuarded(options(job, seen), body), {
        timeoutEarlyInMillis: reserve + 1_500,
        timeoutEarlyResponse,
      });
      const event = schedulerEvent(currentTick(-1));
      const answered: string[] = [];
      await handler(event, context(reserve + 2_000)).then(
        () => answered.push('answered'),
        () => answered.push('answered'),
      );
      // Asked to end before middy produced its answer (the spy lets it continue).
      expect(exits).toHaveLength(1);
      expect(answered).toEqual(['answered']);
      const row = await inspector.inspect(job);
      expect(row).toMatchObject({ held: true, tickDone: null });
      expect(row?.holder).not.toBeNull();
      expect(seen.lines.map((l) => l.fields.outcome)).toEqual(['won', 'failed']);
      expect(seen.lines[1]).toMatchObject({ level: 'error' });
      expect(seen.points.map((p) => p.name)).not.toContain('RunSucceeded');
      // The platform's retry of the same tick, and the next tick, arrive while the body still runs.
      const retry = middy(leaseGuarded(options(job), body));
      expect(await retry(event, context(30_000))).toMatchObject({ status: 'skipped', reason: 'held' });
      expect(await retry(schedulerEvent(currentTick()), context(30_000))).toMatchObject({ reason: 'held' });
      expect(state).toMatchObject({ started: 1, most: 1 });
    },
  );

  it('negative control: the leaseGuard middleware cannot see the body, so a custom response records success and frees the lease', async () => {
    spyExit();
    const job = uniqueJob('custom-timeout-mw');
    const { state, body } = stuckBodies();
    const handler = middy(body, { timeoutEarlyInMillis: 1_500, timeoutEarlyResponse: () => ({ statusCode: 504 }) }).use(
      leaseGuard(options(job)),
    );
    await handler(schedulerEvent(currentTick(-1)), context(2_000));
    await handler(schedulerEvent(currentTick()), context(2_000));
    // Two bodies at once: what leaseGuarded prevents.
    expect(state.most).toBe(2);
    expect(exits).toHaveLength(0);
  });

  it('middy’s default early timeout (5 ms): the failure is recorded before the deadline, the lease kept, the environment ended', async () => {
    spyExit();
    const job = uniqueJob('default-timeout');
    const seen = captureObservability();
    const { body } = stuckBodies();
    const reserve = reserveMs(job);
    const handler = middy(leaseGuarded(options(job, seen), body));
    const error = await handler(schedulerEvent(currentTick()), context(reserve + 1_000)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseBodyAbandonedError);
    expect(exits).toHaveLength(1);
    // The failure's write and its log line landed before the invocation's deadline.
    expect(exits[0]?.remainingMs).toBeGreaterThan(0);
    expect(await inspector.inspect(job)).toMatchObject({ held: true, failures: 1, tickDone: null });
    expect(seen.lines.at(-1)).toMatchObject({ level: 'error', fields: { outcome: 'failed' } });
  });

  it('the leaseGuard middleware keeps the same deadline under middy’s default early timeout', async () => {
    spyExit();
    const job = uniqueJob('default-timeout-mw');
    const seen = captureObservability();
    const { body } = stuckBodies();
    const reserve = reserveMs(job);
    const handler = middy(body).use(leaseGuard(options(job, seen)));
    await handler(schedulerEvent(currentTick()), context(reserve + 1_000)).catch(() => undefined);
    expect(exits).toHaveLength(1);
    expect(exits[0]?.remainingMs).toBeGreaterThan(0);
    expect(await inspector.inspect(job)).toMatchObject({ held: true, failures: 1, tickDone: null });
  });

  it('the middleware refuses, like leaseGuarded, an invocation too short to record a failure at the deadline', async () => {
    const job = uniqueJob('too-short-mw');
    let ran = false;
    const handler = middy(
      async () => {
        ran = true;
      },
      { timeoutEarlyInMillis: 0 },
    ).use(leaseGuard(options(job)));
    await expect(handler(schedulerEvent(currentTick()), context(reserveMs(job) - 200))).rejects.toThrow(
      /needs \d+ ms before the invocation's deadline.*raise the function's timeout/,
    );
    expect(ran).toBe(false);
    // Nothing was claimed: the next invocation with time enough runs at once.
    expect(await inspector.inspect(job)).toBeUndefined();
  });

  it('a body that stops on its signal at the guard’s deadline settles: the lease is kept, the environment lives on', async () => {
    spyExit();
    const job = uniqueJob('cooperative');
    const reserve = reserveMs(job);
    let stopped = false;
    const handler = middy(
      leaseGuarded(options(job), (_event, _context, { signal }) => {
        return new Promise((_, reject) => {
          signal.addEventListener('abort', () => {
            stopped = true;
            reject(signal.reason);
          });
        });
      }),
      { timeoutEarlyInMillis: 0 },
    );
    const error = await handler(schedulerEvent(currentTick()), context(reserve + 800)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseBodyAbandonedError);
    expect(stopped).toBe(true);
    expect(exits).toHaveLength(0);
    expect(await inspector.inspect(job)).toMatchObject({ held: true, failures: 1 });
  });

  it('refuses, before claiming, an invocation with less time left than the release needs', async () => {
    const job = uniqueJob('no-time');
    const handler = middy(
      leaseGuarded(options(job), async () => 'ran'),
      { timeoutEarlyInMillis: 0 },
    );
    await expect(handler(schedulerEvent(currentTick()), context(reserveMs(job) - 100))).rejects.toThrow(
      /raise the function's timeout or lower releaseTimeoutMs/,
    );
    expect(await inspector.inspect(job)).toBeUndefined();
  });
});
