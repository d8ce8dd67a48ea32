/**
 * Bursts of duplicate deliveries on the durable-commit database: N environments of a design claim
 * the same new tick of one job at once (a burst of N copies of one event), the winner releases
 * once all have answered. Each claim is timed on its own; losers and the winner are summarised
 * apart. Designs are interleaved burst by burst. Around each burst the server's fsync and binlog
 * commit counters are read (outside the timing), so the table shows what the losers wrote.
 */
import { contender, type Transports } from './harness.js';
import type { Claim, Peer } from './peers/peer.js';
import { type Summary, summarize } from './stats.js';

export interface BurstOptions {
  readonly sizes: readonly number[];
  readonly bursts: number;
  readonly warmupBursts: number;
}

export interface BurstResult {
  readonly name: string;
  readonly size: number;
  readonly loserMs: Summary;
  readonly winnerMs: Summary;
  /** Per burst, from the server's counters: fsyncs (redo and binlog) and binlog commits. */
  readonly fsyncsPerBurst: number;
  readonly binlogCommitsPerBurst: number;
  readonly errors: number;
  readonly firstError?: string;
}

const COUNTERS = "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_data_fsyncs', 'Binlog_commits')";

async function counters(transports: Transports): Promise<{ fsyncs: number; commits: number }> {
  const { rows } = await transports.mysql2.execute({ sql: COUNTERS });
  const value = (name: string) => Number(rows.find((r) => r.Variable_name === name)?.Value ?? Number.NaN);
  return { fsyncs: value('Innodb_data_fsyncs'), commits: value('Binlog_commits') };
}

export async function measureBursts(
  designs: readonly Peer[],
  transports: Transports,
  nextTick: () => Date,
  options: BurstOptions,
  log: (line: string) => void = () => undefined,
): Promise<BurstResult[]> {
  const job = 'burst';
  const largest = Math.max(...options.sizes);
  const envs = [];
  for (const design of designs) {
    await design.prepare(transports.mysql2, [job]);
    envs.push(Array.from({ length: largest }, (_, i) => contender(design, transports, `burst-${i}`)));
  }
  const results: BurstResult[] = [];
  for (const size of options.sizes) {
    const tallies = designs.map(() => ({
      losers: [] as number[],
      winners: [] as number[],
      fsyncs: 0,
      commits: 0,
      errors: 0,
      firstError: undefined as string | undefined,
    }));
    for (let b = 0; b < options.warmupBursts + options.bursts; b++) {
      const tick = nextTick();
      const measured = b >= options.warmupBursts;
      for (let i = 0; i < designs.length; i++) {
        const d = (i + b) % designs.length;
        const tally = tallies[d] as (typeof tallies)[number];
        const before = await counters(transports);
        const timed = await Promise.all(
          (envs[d] ?? []).slice(0, size).map(async (c) => {
            const started = performance.now();
            const claim = await c.invoker.claim(job, tick).catch((error: unknown): Claim => {
              tally.errors++;
              tally.firstError ??= error instanceof Error ? error.message : String(error);
              return { won: false };
            });
            return { claim, ms: performance.now() - started };
          }),
        );
        await Promise.all(timed.filter((t) => t.claim.won).map((t) => (t.claim.won ? t.claim.release() : undefined)));
        const after = await counters(transports);
        if (!measured) continue;
        for (const t of timed) (t.claim.won ? tally.winners : tally.losers).push(t.ms);
        tally.fsyncs += after.fsyncs - before.fsyncs;
        tally.commits += after.commits - before.commits;
      }
    }
    log(`burst: ${size} duplicates done`);
    designs.forEach((design, d) => {
      const t = tallies[d] as (typeof tallies)[number];
      results.push({
        name: design.name,
        size,
        loserMs: summarize(t.losers),
        winnerMs: summarize(t.winners),
        fsyncsPerBurst: t.fsyncs / options.bursts,
        binlogCommitsPerBurst: t.commits / options.bursts,
        errors: t.errors,
        ...(t.firstError === undefined ? {} : { firstError: t.firstError }),
      });
    });
  }
  return results;
}
