/**
 * Once per tick, measured: every tick of a schedule is delivered to N environments at seeded
 * random offsets within a window (duplicates: several regions, at-least-once delivery), so some
 * arrive while the winner runs and some after it has finished. Optionally one more copy of the
 * previous tick arrives a window late (a retry or redelivery), and some environments' clocks are
 * skewed. A run is an invocation whose claim won and whose body ran; a tick that ran more than
 * once is a double run, one that never ran is missed.
 */
import { contender, sleep, type Transports } from './harness.js';
import type { Peer } from './peers/peer.js';
import { seeded } from './stats.js';

export interface TickScenarioOptions {
  readonly label: string;
  readonly contenders: number;
  readonly ticks: number;
  readonly warmupTicks: number;
  /** A tick's window: the next tick is delivered this long after the previous one. */
  readonly windowMs: number;
  /** Deliveries of a tick arrive uniformly within this much of the window's start. */
  readonly spreadMs: number;
  /** How long a won invocation's body runs before it releases. */
  readonly bodyMs: number;
  /** Clock skew per environment, cycled over the contenders. */
  readonly skewsMs: readonly number[];
  /** Deliver one copy of tick k-1 during tick k's window, from an environment of its own. */
  readonly lateRedelivery: boolean;
  readonly seed: number;
}

export interface TickScenarioResult {
  readonly label: string;
  readonly ticks: number;
  readonly invocations: number;
  readonly runs: number;
  /** Ticks that ran more than once, for any reason. */
  readonly doubleRunTicks: number;
  /** Ticks that ran more than once from their own window's deliveries. */
  readonly inWindowDoubleRunTicks: number;
  /** Ticks that ran again when their late copy arrived. */
  readonly lateDoubleRunTicks: number;
  readonly missedTicks: number;
  readonly errors: number;
  readonly firstError?: string;
  /** Windows that took longer than `windowMs` because invocations were still running. */
  readonly overrunWindows: number;
}

interface TickRuns {
  inWindow: number;
  late: number;
}

export async function runTickScenario(
  peer: Peer,
  transports: Transports,
  nextTick: () => Date,
  options: TickScenarioOptions,
): Promise<TickScenarioResult> {
  const job = options.label;
  await peer.prepare(transports.mysql2, [job]);
  const envs = Array.from({ length: options.contenders }, (_, i) =>
    contender(peer, transports, `${options.label}-${i}`, options.skewsMs[i % options.skewsMs.length]),
  );
  const lateEnv = contender(peer, transports, `${options.label}-late`);
  const random = seeded(options.seed);
  const total = options.warmupTicks + options.ticks;
  const ticks = Array.from({ length: total }, () => nextTick());
  const runs: TickRuns[] = ticks.map(() => ({ inWindow: 0, late: 0 }));
  let invocations = 0;
  let errors = 0;
  let firstError: string | undefined;
  let overrunWindows = 0;

  async function invoke(env: (typeof envs)[number], k: number, kind: keyof TickRuns, atMs: number): Promise<void> {
    await sleep(atMs);
    if (k >= options.warmupTicks) invocations++;
    try {
      const claim = await env.invoker.claim(job, ticks[k] as Date);
      if (!claim.won) return;
      (runs[k] as TickRuns)[kind]++;
      await sleep(options.bodyMs);
      await claim.release();
    } catch (error) {
      errors++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  }

  for (let k = 0; k < total; k++) {
    const started = performance.now();
    const deliveries = envs.map((env) => invoke(env, k, 'inWindow', random() * options.spreadMs));
    if (options.lateRedelivery && k > 0) deliveries.push(invoke(lateEnv, k - 1, 'late', random() * options.spreadMs));
    await Promise.all(deliveries);
    const left = options.windowMs - (performance.now() - started);
    if (left > 0) await sleep(left);
    else if (k >= options.warmupTicks) overrunWindows++;
  }

  // Late copies exist for every measured tick but the last.
  const measured = runs.slice(options.warmupTicks, options.lateRedelivery ? total - 1 : total);
  return {
    label: options.label,
    ticks: measured.length,
    invocations,
    runs: measured.reduce((sum, r) => sum + r.inWindow + r.late, 0),
    doubleRunTicks: measured.filter((r) => r.inWindow + r.late > 1).length,
    inWindowDoubleRunTicks: measured.filter((r) => r.inWindow > 1).length,
    lateDoubleRunTicks: measured.filter((r) => r.late > 0 && r.inWindow > 0).length,
    missedTicks: measured.filter((r) => r.inWindow + r.late === 0).length,
    errors,
    overrunWindows,
    ...(firstError === undefined ? {} : { firstError }),
  };
}
