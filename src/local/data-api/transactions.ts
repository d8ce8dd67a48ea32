/**
 * Transactions as the v2 service keeps them: each on its own connection, ended by commit,
 * rollback, an error in one of its statements (aborted), or idleness (expired). A call on a
 * transaction that is still running a statement fails fast instead of queueing.
 */
import { randomBytes } from 'node:crypto';
import type { PoolConnection } from 'mysql2/promise';
import { DataApiError } from './errors.js';

export interface Transaction {
  readonly id: string;
  readonly connection: PoolConnection;
  readonly startedAt: number;
}

export const TransactionEndReason = {
  COMMITTED: 'it was committed',
  ROLLED_BACK: 'it was rolled back',
  ABORTED: 'it was aborted by an error in a previous call',
  EXPIRED: 'it expired after being idle',
  TOO_OLD: 'it reached the maximum transaction lifetime',
  SHUTDOWN: 'the server shut down',
} as const;
export type TransactionEndReason = (typeof TransactionEndReason)[keyof typeof TransactionEndReason];

export interface TransactionRegistryOptions {
  /** @default 180000 (3 minutes, the service's idle timeout) */
  readonly idleTimeoutMs: number;
  /** @default 86400000 (24 hours) */
  readonly maxLifeMs: number;
  /** Ends a connection from outside, for a statement still running at shutdown. */
  readonly killConnection: (threadId: number) => Promise<void>;
}

interface Entry extends Transaction {
  /** A call is inside the transaction. */
  busy: boolean;
  /** A statement still running after its call answered (continueAfterTimeout, or a killed one). */
  lingering: Promise<void> | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

/** How many ended ids to remember, to say why a late call finds nothing. */
const REMEMBERED_ENDINGS = 1000;

export interface TransactionRegistry {
  /** Starts a transaction on a connection the registry now owns. */
  begin(connection: PoolConnection): Promise<Transaction>;
  /**
   * Runs work on a transaction: fails with TransactionNotFoundException when it is gone and with
   * "Transaction is still running a query" when another call is inside it. `background` lets work
   * keep the transaction busy after the call answers (continueAfterTimeout).
   */
  use<T>(
    id: string,
    work: (tx: Transaction, background: (settled: Promise<unknown>) => void) => Promise<T>,
  ): Promise<T>;
  /** Ends a transaction: rolls back unless committed, returns the connection. */
  end(tx: Transaction, reason: TransactionEndReason): Promise<void>;
  closeAll(): Promise<void>;
}

export function createTransactionRegistry(options: TransactionRegistryOptions): TransactionRegistry {
  const open = new Map<string, Entry>();
  const ended = new Map<string, TransactionEndReason>();

  function remember(id: string, reason: TransactionEndReason): void {
    ended.set(id, reason);
    if (ended.size > REMEMBERED_ENDINGS) ended.delete(ended.keys().next().value as string);
  }

  function notFound(id: string): DataApiError {
    const reason = ended.get(id);
    return new DataApiError(
      'TransactionNotFoundException',
      `Transaction ${id} isn't found${reason ? `: ${reason}` : ''}.`,
    );
  }

  function armIdleTimer(entry: Entry): void {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = setTimeout(() => void end(entry, TransactionEndReason.EXPIRED), options.idleTimeoutMs);
    entry.idleTimer.unref();
  }

  async function begin(connection: PoolConnection): Promise<Transaction> {
    await connection.query('START TRANSACTION');
    const entry: Entry = {
      id: randomBytes(138).toString('base64'),
      connection,
      startedAt: Date.now(),
      busy: false,
      lingering: undefined,
      idleTimer: undefined,
    };
    open.set(entry.id, entry);
    armIdleTimer(entry);
    return entry;
  }

  async function use<T>(
    id: string,
    work: (tx: Transaction, background: (settled: Promise<unknown>) => void) => Promise<T>,
  ): Promise<T> {
    const found = open.get(id);
    if (!found) throw notFound(id);
    const entry: Entry = found;
    if (entry.busy || entry.lingering) {
      throw new DataApiError('DatabaseErrorException', 'Transaction is still running a query');
    }
    if (Date.now() - entry.startedAt > options.maxLifeMs) {
      await end(entry, TransactionEndReason.TOO_OLD);
      throw notFound(id);
    }
    clearTimeout(entry.idleTimer);
    entry.busy = true;
    const background = (settled: Promise<unknown>): void => {
      const lingering: Promise<void> = settled.then(
        () => settle(lingering),
        () => settle(lingering),
      );
      entry.lingering = lingering;
    };
    try {
      return await work(entry, background);
    } finally {
      entry.busy = false;
      if (!entry.lingering && open.get(id) === entry) armIdleTimer(entry);
    }

    function settle(lingering: Promise<void>): void {
      if (entry.lingering !== lingering) return;
      entry.lingering = undefined;
      if (!entry.busy && open.get(id) === entry) armIdleTimer(entry);
    }
  }

  /** Removes the transaction at once (later calls find nothing), then rolls back and returns the connection. */
  async function end(tx: Transaction, reason: TransactionEndReason): Promise<void> {
    const entry = open.get(tx.id);
    if (!entry) return;
    open.delete(entry.id);
    remember(entry.id, reason);
    clearTimeout(entry.idleTimer);
    if (reason === TransactionEndReason.COMMITTED) {
      entry.connection.release();
      return;
    }
    if (reason === TransactionEndReason.SHUTDOWN) {
      // Ending the connection rolls back. MySQL would not notice a closed socket until a running
      // statement finished, so a busy connection (a call still inside it, or a statement that
      // outlived its call) is killed on the server.
      if (entry.busy || entry.lingering) await options.killConnection(entry.connection.threadId).catch(() => undefined);
      entry.connection.destroy();
      return;
    }
    // A statement left running must finish before the rollback can start.
    await entry.lingering;
    try {
      await entry.connection.query('ROLLBACK');
      entry.connection.release();
    } catch {
      entry.connection.destroy();
    }
  }

  return {
    begin,
    use,
    end,
    async closeAll() {
      await Promise.all([...open.values()].map((entry) => end(entry, TransactionEndReason.SHUTDOWN)));
    },
  };
}
