/**
 * Claims per second under contention: N environments in closed loops, each invocation claiming a
 * new tick (so lease-guard can win again; the peers ignore ticks) of one job or of a job drawn
 * from M, releasing at once when it wins. Losers return at once too, as a skipped Lambda does.
 */
import { type Contender, contender, type Transports } from './harness.js';
import type { Peer } from './peers/peer.js';
import { type Summary, seeded, summarize } from './stats.js';

export interface ThroughputOptions {
  readonly label: string;
  readonly contenders: number;
  readonly jobs: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly seed: number;
}

export interface ThroughputResult {
  readonly label: string;
  readonly contenders: number;
  readonly jobs: number;
  readonly claimsPerSecond: number;
  readonly winsPerSecond: number;
  readonly claimMs: Summary;
  /** Statements per invocation, claim and release together, by outcome. */
  readonly rtPerWinner: number;
  readonly rtPerLoser: number;
  /** Mean time a claim spent waiting on its statements (the database and the transport). */
  readonly statementMsPerClaim: number;
  /** This process's CPU time per claim: the contenders, the driver and, for the Data API, the emulator. */
  readonly cpuMsPerClaim: number;
  readonly errors: number;
  readonly firstError?: string;
}

interface Tally {
  claims: number;
  wins: number;
  winnerRt: number;
  loserRt: number;
  statementMs: number;
  errors: number;
  firstError?: string;
  readonly latencies: number[];
}

async function loop(
  c: Contender,
  jobs: readonly string[],
  random: () => number,
  nextTick: () => Date,
  until: number,
  tally: Tally,
): Promise<void> {
  while (performance.now() < until) {
    const job = jobs[Math.floor(random() * jobs.length)] as string;
    c.counter.reset();
    const started = performance.now();
    try {
      const claim = await c.invoker.claim(job, nextTick());
      tally.latencies.push(performance.now() - started);
      tally.statementMs += c.counter.busyMs;
      tally.claims++;
      if (claim.won) {
        await claim.release();
        tally.wins++;
        tally.winnerRt += c.counter.count;
      } else {
        tally.loserRt += c.counter.count;
      }
    } catch (error) {
      tally.errors++;
      tally.firstError ??= error instanceof Error ? error.message : String(error);
    }
  }
}

function fresh(): Tally {
  return { claims: 0, wins: 0, winnerRt: 0, loserRt: 0, statementMs: 0, errors: 0, latencies: [] };
}

export async function measureThroughput(
  peer: Peer,
  transports: Transports,
  nextTick: () => Date,
  options: ThroughputOptions,
): Promise<ThroughputResult> {
  const jobs = Array.from({ length: options.jobs }, (_, i) => `${options.label}-${i}`);
  await peer.prepare(transports.mysql2, jobs);
  const contenders = Array.from({ length: options.contenders }, (_, i) =>
    contender(peer, transports, `${options.label}-${i}`),
  );
  const randoms = contenders.map((_, i) => seeded(options.seed + i));
  const run = async (ms: number) => {
    const tally = fresh();
    const started = performance.now();
    const cpu = process.cpuUsage();
    await Promise.all(contenders.map((c, i) => loop(c, jobs, randoms[i]!, nextTick, started + ms, tally)));
    const { user, system } = process.cpuUsage(cpu);
    return { tally, elapsedMs: performance.now() - started, cpuMs: (user + system) / 1000 };
  };
  await run(options.warmupMs); // cold starts, first claims, JIT, pools
  const { tally, elapsedMs, cpuMs } = await run(options.durationMs);
  const seconds = elapsedMs / 1000;
  const losses = tally.claims - tally.wins;
  return {
    label: options.label,
    contenders: options.contenders,
    jobs: options.jobs,
    claimsPerSecond: tally.claims / seconds,
    winsPerSecond: tally.wins / seconds,
    claimMs: summarize(tally.latencies),
    rtPerWinner: tally.wins ? tally.winnerRt / tally.wins : Number.NaN,
    rtPerLoser: losses ? tally.loserRt / losses : Number.NaN,
    statementMsPerClaim: tally.statementMs / tally.claims,
    cpuMsPerClaim: cpuMs / tally.claims,
    errors: tally.errors,
    ...(tally.firstError === undefined ? {} : { firstError: tally.firstError }),
  };
}
