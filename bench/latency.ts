/**
 * Round trips and claim latency, one invocation at a time. Each round: A claims a new tick and wins,
 * B claims the same tick while A holds and loses, A releases. The first round is both
 * environments' cold start on a job nobody has run yet; after the measured rounds a third, fresh
 * environment claims the now existing, free job: a cold start as Lambda sees it every day.
 */
import { type Contender, contender, type Transports } from './harness.js';
import type { Peer } from './peers/peer.js';
import { type Summary, summarize } from './stats.js';

export interface RoundTrips {
  readonly claim: number;
  readonly release: number;
}

export interface ColdClaim extends RoundTrips {
  readonly won: boolean;
}

export interface LatencyResult {
  readonly rounds: number;
  /** Statements per invocation, mean over the measured rounds (they never vary in practice). */
  readonly winner: RoundTrips;
  readonly loser: number;
  /** A's first round: a fresh environment and a job without history (row creation included). */
  readonly firstEver: ColdClaim;
  /** B's first round: a fresh environment losing to a holder. */
  readonly coldLoser: number;
  /** C: a fresh environment claiming the existing, released job. */
  readonly coldOnExisting: ColdClaim;
  readonly winnerClaimMs: Summary;
  readonly loserClaimMs: Summary;
  readonly releaseMs: Summary;
  /** Wall time of the invocations' claims and releases over the time their statements took. */
  readonly overhead: number;
}

async function timedClaim(c: Contender, job: string, tick: Date) {
  c.counter.reset();
  const started = performance.now();
  const claim = await c.invoker.claim(job, tick);
  return { claim, ms: performance.now() - started, rt: c.counter.count, busyMs: c.counter.busyMs };
}

async function timedRelease(c: Contender, release: () => Promise<void>) {
  c.counter.reset();
  const started = performance.now();
  await release();
  return { ms: performance.now() - started, rt: c.counter.count, busyMs: c.counter.busyMs };
}

export async function measureLatency(
  peer: Peer,
  transports: Transports,
  nextTick: () => Date,
  { rounds, warmup }: { rounds: number; warmup: number },
): Promise<LatencyResult> {
  const job = 'latency';
  await peer.prepare(transports.mysql2, [job]);
  const a = contender(peer, transports, 'lat-a');
  const b = contender(peer, transports, 'lat-b');
  const winnerMs: number[] = [];
  const loserMs: number[] = [];
  const releaseMs: number[] = [];
  let winnerClaimRt = 0;
  let winnerReleaseRt = 0;
  let loserRt = 0;
  let wall = 0;
  let busy = 0;
  let firstEver: ColdClaim | undefined;
  let coldLoser = 0;

  for (let round = 0; round < warmup + rounds + 1; round++) {
    const tick = nextTick();
    const win = await timedClaim(a, job, tick);
    if (!win.claim.won) throw new Error(`${peer.name}: A lost round ${round} with nobody else holding`);
    const lose = await timedClaim(b, job, tick);
    if (lose.claim.won) throw new Error(`${peer.name}: B won round ${round} while A held`);
    const release = await timedRelease(a, win.claim.release);
    if (round === 0) {
      firstEver = { won: true, claim: win.rt, release: release.rt };
      coldLoser = lose.rt;
    } else if (round > warmup) {
      winnerMs.push(win.ms);
      loserMs.push(lose.ms);
      releaseMs.push(release.ms);
      winnerClaimRt += win.rt;
      winnerReleaseRt += release.rt;
      loserRt += lose.rt;
      wall += win.ms + lose.ms + release.ms;
      busy += win.busyMs + lose.busyMs + release.busyMs;
    }
  }

  const c = contender(peer, transports, 'lat-c');
  const cold = await timedClaim(c, job, nextTick());
  const coldRelease = cold.claim.won ? await timedRelease(c, cold.claim.release) : { rt: 0 };

  return {
    rounds,
    winner: { claim: winnerClaimRt / rounds, release: winnerReleaseRt / rounds },
    loser: loserRt / rounds,
    firstEver: firstEver as ColdClaim,
    coldLoser,
    coldOnExisting: { won: cold.claim.won, claim: cold.rt, release: coldRelease.rt },
    winnerClaimMs: summarize(winnerMs),
    loserClaimMs: summarize(loserMs),
    releaseMs: summarize(releaseMs),
    overhead: wall / busy,
  };
}
