/**
 * The one interface every contender in the benchmark implements: lease-guard and the peers it is
 * compared with. An invoker is one Lambda execution environment: its own identity, its own
 * in-memory caches (a peer that caches "row exists" keeps it per environment, as it would per
 * process), its own clock, and its own counted executor, so round trips are measured per invocation.
 */
import type { SqlExecutor } from '../../src/sql/executor.js';

export type Transport = 'mysql2' | 'data-api';

export interface InvokerEnv {
  /** The environment's identity: the host name, `locked_by` or master name a peer writes. */
  readonly id: string;
  /** Where its statements go: a counting wrapper over the peer's transport. */
  readonly executor: SqlExecutor;
  /** Its wall clock in epoch milliseconds, skewed for some contenders. Only peers that judge expiry on the client read it. */
  readonly now: () => number;
}

/** A won claim is released once the body has run; a lost one ran nothing. */
export type Claim = { readonly won: true; release(): Promise<void> } | { readonly won: false };

export const LOST: Claim = { won: false };

export interface Invoker {
  /** One invocation's claim for a tick of a job. Peers without a tick ledger ignore the tick. */
  claim(job: string, tick: Date): Promise<Claim>;
}

export interface Peer {
  readonly name: string;
  readonly transport: Transport;
  /**
   * Deploy time: creates the peer's own table, and the jobs' rows where the design creates them
   * before any run. Always over mysql2: DDL is not what is measured.
   */
  prepare(executor: SqlExecutor, jobs: readonly string[]): Promise<void>;
  invoker(env: InvokerEnv): Invoker;
}
