/** What every phase shares: contenders made from a peer, and ticks the database accepts. */
import type { SqlExecutor } from '../src/sql/executor.js';
import { type CountingExecutor, countingExecutor } from './counting-executor.js';
import type { Invoker, Peer } from './peers/peer.js';

export interface Contender {
  readonly id: string;
  readonly invoker: Invoker;
  readonly counter: CountingExecutor;
}

export interface Transports {
  readonly mysql2: SqlExecutor;
  readonly 'data-api': SqlExecutor;
}

/** One execution environment of a peer, on the peer's transport, with its clock skewed by `skewMs`. */
export function contender(peer: Peer, transports: Transports, id: string, skewMs = 0): Contender {
  const counter = countingExecutor(transports[peer.transport]);
  const invoker = peer.invoker({ id, executor: counter, now: () => Date.now() + skewMs });
  return { id, invoker, counter };
}

/**
 * Schedule ticks: each call gives a new one, a millisecond after the last, starting 30 minutes
 * before the database's now, so every tick of a run is inside lease-guard's default window
 * (at most 1 h old, at most 5 min ahead) and ticks only ever move forward.
 */
export function tickSource(dbNowMs: number): () => Date {
  let next = Math.floor(dbNowMs / 1000) * 1000 - 30 * 60_000;
  return () => new Date(next++);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
