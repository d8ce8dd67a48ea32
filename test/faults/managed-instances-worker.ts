/**
 * A Lambda Managed Instances execution environment, standing in for the real one: one Node.js
 * process, several worker threads, each running many guarded invocations at once; never frozen;
 * timeouts not enforced (an invocation past its deadline is answered, its body goes on);
 * `AWS_LAMBDA_MAX_CONCURRENCY` set. Both front doors run: `leaseGuarded` and the `leaseGuard`
 * middleware (middy 6, early timeout off, as the README advises there).
 *
 *   node managed-instances-worker.mjs <mysql url> <seed> [undetected]
 *
 * Prints one JSON line: what the bodies saw (shared memory across the threads) and whether anything
 * tried to end the process. Checked by test/faults/managed-instances.test.ts.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import middy from '@middy/core';
import { fleetLambdaContext } from '../../src/fleet/lambda-context.js';
import { createRandom } from '../../src/fleet/random.js';
import { workInFlight } from '../../src/guard/execution.js';
import type { LeaseGuardContext } from '../../src/guard/types.js';
import { leaseGuard } from '../../src/middleware/lease-guard.js';
import { leaseGuarded } from '../../src/middleware/lease-guarded.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';

export const JOBS = 3;
export const ROUNDS = 4;
export const THREADS = 2;
/** Invocations of one job's tick per thread per round (duplicates of one delivery). */
export const DUPLICATES = 3;
/** Slots per job in the shared counters: running now, most at once, bodies started, exit attempts. */
const RUNNING = 0;
const MOST = 1;
const STARTED = 2;
const EXITS = 3;
/** Bodies that ran past their invocation's deadline. */
const LATE = 4;
const SLOTS = 5;

interface WorkerInput {
  readonly url: string;
  readonly seed: number;
  readonly index: number;
  readonly shared: SharedArrayBuffer;
  /** successes[job * ROUNDS + round] */
  readonly successes: SharedArrayBuffer;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tickOf(round: number, base: number): Date {
  return new Date(base + round * 60_000);
}

async function runThread(input: WorkerInput): Promise<void> {
  const counters = new Int32Array(input.shared);
  const successes = new Int32Array(input.successes);
  // Ending the process (or this thread) would cut every other invocation in it.
  process.exit = ((): never => {
    Atomics.add(counters, EXITS, 1);
    return undefined as never;
  }) as typeof process.exit;
  const executor = createMysql2Executor({ url: input.url, connectionLimit: 4 });
  const random = createRandom(input.seed * 31 + input.index);
  // A 4 s lease: renewed every second while a body runs, a renewal may be three seconds late
  // before the lease can lapse (a loaded machine is not a lost lease).
  const common = { logger: false as const, metrics: false as const, leaseMs: 4_000, releaseTimeoutMs: 300 };

  const body = (job: number, round: number) => async (): Promise<string> => {
    const slot = job * SLOTS;
    const now = Atomics.add(counters, slot + RUNNING, 1) + 1;
    Atomics.add(counters, slot + STARTED, 1);
    let most = Atomics.load(counters, slot + MOST);
    while (now > most) {
      Atomics.compareExchange(counters, slot + MOST, most, now);
      most = Atomics.load(counters, slot + MOST);
    }
    // What the body does is fixed by its job and round (the seed shifts it), whichever thread runs it.
    const kind = (job + round + input.seed) % 4;
    try {
      if (kind === 1) {
        await sleep(10);
        throw new Error('the job failed');
      }
      // Kind 0 runs past the invocation's deadline (2.5 s) and its first lease term, and succeeds later.
      if (kind === 0) Atomics.add(counters, slot + LATE, 1);
      await sleep(kind === 0 ? 6_000 : random.int(20, 70));
      Atomics.add(successes, job * ROUNDS + round, 1);
      return 'done';
    } finally {
      Atomics.sub(counters, slot + RUNNING, 1);
    }
  };

  const handlers = Array.from({ length: JOBS }, (_, job) => {
    const name = `lmi-${input.seed}-${job}`;
    const guarded = middy(
      leaseGuarded({ job: name, executor, ...common }, (event) => body(job, (event as { round: number }).round)()),
      { timeoutEarlyInMillis: 0 },
    );
    const middleware = middy<{ round: number; scheduledTime: string }, string, Error, LeaseGuardContext>({
      timeoutEarlyInMillis: 0,
    })
      .use(leaseGuard({ job: name, executor, ...common }))
      .handler((event) => body(job, event.round)());
    return { guarded, middleware };
  });

  parentPort?.on('message', async (message: { round: number; base: number }) => {
    const { round, base } = message;
    const tick = tickOf(round, base).toISOString();
    const answers: Promise<unknown>[] = [];
    for (let job = 0; job < JOBS; job++) {
      for (let copy = 0; copy < DUPLICATES; copy++) {
        const { guarded, middleware } = handlers[job] as (typeof handlers)[number];
        const handler = (copy + input.index) % 2 === 0 ? guarded : middleware;
        const context = fleetLambdaContext({
          functionName: 'lmi',
          region: 'us-east-1',
          requestId: `${input.index}-${round}-${job}-${copy}`,
          timeoutMs: 2_500,
        });
        answers.push(
          (handler as (event: unknown, context: unknown) => Promise<unknown>)(
            { scheduledTime: tick, round },
            context,
          ).catch((error: unknown) => (error as Error).name),
        );
      }
    }
    const results = await Promise.all(answers);
    parentPort?.postMessage({ round, results });
  });
  parentPort?.on('close', () => void executor.close());
  // Tell the main thread when no guarded work is left in flight here (abandoned bodies included).
  const idle = setInterval(() => {
    if (workInFlight() === 0) parentPort?.postMessage({ idle: true });
  }, 50);
  idle.unref();
}

async function main(): Promise<void> {
  const [url, seedText, mode] = process.argv.slice(2);
  if (!url) throw new Error('usage: managed-instances-worker <mysql url> <seed> [undetected]');
  // `undetected`: the negative control, the same environment without the variable Lambda sets.
  if (mode !== 'undetected') process.env.AWS_LAMBDA_MAX_CONCURRENCY = String(JOBS * DUPLICATES);
  const seed = Number(seedText ?? 1);
  const shared = new SharedArrayBuffer(JOBS * SLOTS * 4);
  const successes = new SharedArrayBuffer(JOBS * ROUNDS * 4);
  const counters = new Int32Array(shared);
  const exitsBefore = (): number => {
    let sum = 0;
    for (let job = 0; job < JOBS; job++) sum += Atomics.load(counters, job * SLOTS + EXITS);
    return sum;
  };
  const workers = Array.from(
    { length: THREADS },
    (_, index) =>
      new Worker(new URL(import.meta.url), {
        workerData: { url, seed, index, shared, successes } satisfies WorkerInput,
        env: process.env,
      }),
  );
  const idle = new Set<number>();
  // Per worker: the answer to the round it was sent.
  const waiters = new Map<number, (results: unknown[]) => void>();
  workers.forEach((worker, index) => {
    worker.on('message', (message: { idle?: boolean; round?: number; results?: unknown[] }) => {
      if (message.idle) idle.add(index);
      else waiters.get(index)?.(message.results ?? []);
    });
    worker.on('error', (error) => {
      process.stderr.write(`worker ${index} failed: ${error.stack ?? error}\n`);
      process.exitCode = 2;
    });
  });
  const base = Math.floor(Date.now() / 60_000) * 60_000 - (ROUNDS + 1) * 60_000;
  const answers: unknown[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const done = workers.map((_, index) => new Promise<unknown[]>((resolve) => waiters.set(index, resolve)));
    for (const worker of workers) worker.postMessage({ round, base });
    for (const results of await Promise.all(done)) answers.push(...results);
  }
  // Bounded: every body ends within a few seconds; releases follow.
  const deadline = performance.now() + 60_000;
  idle.clear();
  while (idle.size < THREADS && performance.now() < deadline) await sleep(50);
  const view = new Int32Array(successes);
  const result = {
    idle: idle.size === THREADS,
    exits: exitsBefore(),
    jobs: Array.from({ length: JOBS }, (_, job) => ({
      job: `lmi-${seed}-${job}`,
      most: Atomics.load(counters, job * SLOTS + MOST),
      started: Atomics.load(counters, job * SLOTS + STARTED),
      late: Atomics.load(counters, job * SLOTS + LATE),
      successes: Array.from({ length: ROUNDS }, (_, round) => view[job * ROUNDS + round] ?? 0),
      ticks: Array.from({ length: ROUNDS }, (_, round) => tickOf(round, base).toISOString()),
    })),
    answers: answers.reduce<Record<string, number>>((counts, answer) => {
      const key =
        typeof answer === 'object' && answer !== null
          ? String((answer as { reason?: string }).reason ?? 'object')
          : String(answer);
      counts[key] = (counts[key] ?? 0) + 1;
      return counts;
    }, {}),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await Promise.all(workers.map((worker) => worker.terminate()));
}

if (isMainThread) {
  main().catch((error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exitCode = 1;
  });
} else {
  void runThread(workerData as WorkerInput);
}
