/**
 * Contended rounds, every design interleaved in one run: in each round, N environments of a design
 * claim the same new tick of one job at once; the one winner releases once every claim has
 * answered. Round r runs the designs in an order rotated by r, so load on the machine falls on all
 * of them alike; each design's time per round is then read against the floor's.
 */
import { type Contender, contender, type Transports } from './harness.js';
import type { Claim, Peer } from './peers/peer.js';
import { type Summary, summarize } from './stats.js';

export interface ContendedOptions {
  readonly contenders: number;
  readonly rounds: number;
  readonly warmupRounds: number;
}

export interface ContendedResult {
  readonly name: string;
  readonly roundMs: Summary;
  /** Mean time per round over the floor's, and the median of per-round ratios to the floor's round. */
  readonly vsFloor: number;
  readonly vsFloorMedian: number;
  /** Rounds with no winner or with more than one (each is a failure of the design or the run). */
  readonly roundsWithoutWinner: number;
  readonly roundsWithTwoWinners: number;
  readonly errors: number;
  readonly firstError?: string;
}

interface Tally {
  readonly times: number[];
  noWinner: number;
  twoWinners: number;
  errors: number;
  firstError?: string;
}

async function round(contenders: readonly Contender[], job: string, tick: Date, tally: Tally): Promise<number> {
  const started = performance.now();
  const claims = await Promise.all(
    contenders.map((c) =>
      c.invoker.claim(job, tick).catch((error: unknown): Claim => {
        tally.errors++;
        tally.firstError ??= error instanceof Error ? error.message : String(error);
        return { won: false };
      }),
    ),
  );
  const winners = claims.filter((c) => c.won);
  await Promise.all(winners.map((w) => w.release()));
  const elapsed = performance.now() - started;
  if (winners.length === 0) tally.noWinner++;
  if (winners.length > 1) tally.twoWinners++;
  return elapsed;
}

/** `designs[0]` is the floor the others are read against. */
export async function measureContended(
  designs: readonly Peer[],
  transports: Transports,
  nextTick: () => Date,
  options: ContendedOptions,
  log: (line: string) => void = () => undefined,
): Promise<ContendedResult[]> {
  const job = 'contended';
  const runs = [];
  for (const design of designs) {
    await design.prepare(transports.mysql2, [job]);
    const contenders = Array.from({ length: options.contenders }, (_, i) =>
      contender(design, transports, `contended-${i}`),
    );
    runs.push({ design, contenders, tally: { times: [], noWinner: 0, twoWinners: 0, errors: 0 } as Tally });
  }
  const total = options.warmupRounds + options.rounds;
  for (let r = 0; r < total; r++) {
    const tick = nextTick();
    for (let i = 0; i < runs.length; i++) {
      const run = runs[(i + r) % runs.length] as (typeof runs)[number];
      const scratch: Tally = { times: [], noWinner: 0, twoWinners: 0, errors: 0 };
      const ms = await round(run.contenders, job, tick, r < options.warmupRounds ? scratch : run.tally);
      if (r >= options.warmupRounds) run.tally.times.push(ms);
    }
    if ((r + 1) % 100 === 0) log(`contended: ${r + 1}/${total} rounds`);
  }
  const floor = runs[0]?.tally.times ?? [];
  const floorMean = summarize(floor).mean;
  return runs.map(({ design, tally }) => {
    const perRound = tally.times.map((ms, i) => ms / (floor[i] as number));
    const roundMs = summarize(tally.times);
    return {
      name: design.name,
      roundMs,
      vsFloor: roundMs.mean / floorMean,
      vsFloorMedian: summarize(perRound).p50,
      roundsWithoutWinner: tally.noWinner,
      roundsWithTwoWinners: tally.twoWinners,
      errors: tally.errors,
      ...(tally.firstError === undefined ? {} : { firstError: tally.firstError }),
    };
  });
}
