/**
 * The faults a fleet run can inject, each bounded in time and recorded in the history: the
 * database paused (SIGSTOP) or crashed and restarted, Data API failures through the local
 * server's hooks, workers frozen, regions dark. `heal()` undoes whatever is still in force.
 * Clock skew is a property of a region's workers (RegionSpec.clockSkewMs), set at fork.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CLAIM_SHAPES, claimSql, releaseSuccessSql } from '../lease/sql.js';
import type { DataApiServer, FaultHandle, FaultScope } from '../local/data-api/index.js';
import type { ThrowawayMysql } from '../local/throwaway-mysql.js';
import type { HistoryRecorder } from './history.js';
import type { Supervisor } from './supervisor.js';

/**
 * Matchers for the protocol's statements on a lease table, built from the protocol's own SQL
 * text, for faults scoped with `match` (e.g. lose the answer to a claim, not to a register write).
 * The claim in any of its shapes: the store picks one per executor and request.
 */
export function leaseStatements(table: string): { readonly claim: RegExp; readonly releaseSuccess: RegExp } {
  return {
    claim: exactly(...CLAIM_SHAPES.map((shape) => claimSql(table, shape))),
    releaseSuccess: exactly(releaseSuccessSql(table)),
  };
}

function exactly(...texts: string[]): RegExp {
  const escaped = texts.map((sql) => sql.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^(?:${escaped.join('|')})$`);
}

/** Data API faults by the failure they model. */
export const DataApiFault = {
  /** Aurora Serverless v2 waking from auto-pause: DatabaseResumingException (400, not retried by the SDK). */
  RESUMING: 'resuming',
  /** Writer failover: DatabaseUnavailableException (504, retried 3 times by the SDK). */
  UNAVAILABLE: 'unavailable',
  THROTTLING: 'throttling',
  /** StatementTimeoutException: the outcome is unknown to the caller. */
  STATEMENT_TIMEOUT: 'statement-timeout',
  /** The statement commits, then the connection closes without an answer. */
  LOST_RESPONSE: 'lost-response',
  /** No answer at all until the client gives up. */
  HANG: 'hang',
} as const;
export type DataApiFault = (typeof DataApiFault)[keyof typeof DataApiFault];

const EFFECTS = {
  resuming: { exception: 'DatabaseResumingException' },
  unavailable: { exception: 'DatabaseUnavailableException' },
  throttling: { exception: 'ThrottlingException' },
  'statement-timeout': { exception: 'StatementTimeoutException' },
  'lost-response': { dropResponseAfterCommit: true },
  hang: { hangUntilClientGivesUp: true },
} as const;

export interface NemesesOptions {
  readonly history: HistoryRecorder;
  readonly supervisor?: Supervisor;
  /** Database faults need a throwaway server's process. */
  readonly database?: ThrowawayMysql | null;
  readonly dataApi?: DataApiServer;
}

export interface Nemeses {
  /** Whether database faults can run (they need a throwaway server, not an external one). */
  readonly canHitDatabase: boolean;
  /** SIGSTOP the database server for `ms`, then SIGCONT. Resolves when it runs again. */
  pauseDatabase(ms: number): Promise<void>;
  /** SIGKILL the database server, wait `downMs`, start it again on the same data. */
  crashDatabase(downMs: number, restart?: Parameters<ThrowawayMysql['restart']>[0]): Promise<void>;
  /**
   * A Data API failure for the calls the scope selects; give `count` or `forMs` to bound it.
   * `calls` names them in the history (e.g. 'claims'). @default a description of the scope
   */
  dataApiFault(fault: DataApiFault, scope: FaultScope, calls?: string): FaultHandle;
  /** Extra latency on the Data API calls the scope selects. */
  dataApiLatency(latencyMs: number, scope: FaultScope, calls?: string): FaultHandle;
  /** Freeze a worker for `ms` (its invocation deadline still applies). */
  pauseWorker(pid: number, ms: number): Promise<void>;
  /** Resumes the database and workers, removes Data API faults. Regions stay as they are. */
  heal(): void;
}

export function createNemeses(options: NemesesOptions): Nemeses {
  const { history, supervisor, dataApi } = options;
  const database = options.database ?? null;
  let databasePaused: { resume: () => void } | null = null;
  const pausedWorkers = new Map<number, () => void>();
  const faultEnds = new Set<() => void>();

  function needDatabase(): ThrowawayMysql {
    if (!database?.pid) throw new Error('database faults need a throwaway database server, not an external one');
    return database;
  }

  function inject(kind: string, detail: string, rule: Parameters<DataApiServer['faults']['inject']>[0]): FaultHandle {
    if (!dataApi) throw new Error('Data API faults need the local Data API server');
    const handle = dataApi.faults.inject(rule);
    const end = history.beginNemesis(kind, 'data-api', detail);
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(timer);
      faultEnds.delete(finish);
      end();
    };
    faultEnds.add(finish);
    if (rule.forMs !== undefined) timer = setTimeout(finish, rule.forMs).unref();
    if (rule.count !== undefined) handle.waitForHits(rule.count).then(finish);
    return {
      get hits() {
        return handle.hits;
      },
      waitForHits: (n) => handle.waitForHits(n),
      remove() {
        handle.remove();
        finish();
      },
    };
  }

  function describeScope(scope: FaultScope, calls: string | undefined): string {
    const source = scope.match?.source ?? '';
    const parts = [
      calls ??
        (scope.match ? `calls matching ${source.length > 40 ? `${source.slice(0, 40)}…` : source}` : 'every call'),
      scope.count === undefined ? '' : `${scope.count} call(s)`,
      scope.forMs === undefined ? '' : `for ${scope.forMs} ms`,
    ];
    return parts.filter(Boolean).join(', ');
  }

  return {
    canHitDatabase: database?.pid !== undefined,
    async pauseDatabase(ms) {
      const server = needDatabase();
      const pid = server.pid as number;
      const gone = (when: string): Error =>
        new Error(
          `the database server (${server.flavor}, pid ${pid}, port ${server.port}) went away ${when} (${server.exitStatus ?? 'no longer running'}); its log is ${server.dataDir}/error.log`,
        );
      if (!signalProcess(pid, 'SIGSTOP')) throw gone('before it could be paused');
      const end = history.beginNemesis('pause-database', 'database', `SIGSTOP pid ${pid} for ${ms} ms`);
      let resumed = false;
      let vanished = false;
      const resume = (): void => {
        if (resumed) return;
        resumed = true;
        databasePaused = null;
        // A server that died while paused (killed from outside) cannot be resumed: say so, do not crash.
        vanished = !signalProcess(pid, 'SIGCONT');
        end();
      };
      databasePaused = { resume };
      try {
        await sleep(ms);
      } finally {
        resume();
      }
      if (vanished) throw gone('while it was paused');
    },
    async crashDatabase(downMs, restart) {
      const server = needDatabase();
      const end = history.beginNemesis('crash-database', 'database', `SIGKILL, down ${downMs} ms`);
      try {
        await server.kill();
        await sleep(downMs);
        await server.restart(restart);
      } finally {
        end();
      }
    },
    dataApiFault(fault, scope, calls) {
      return inject(`data-api-${fault}`, describeScope(scope, calls), { ...scope, ...EFFECTS[fault] });
    },
    dataApiLatency(latencyMs, scope, calls) {
      return inject('data-api-latency', `${latencyMs} ms, ${describeScope(scope, calls)}`, { ...scope, latencyMs });
    },
    async pauseWorker(pid, ms) {
      if (!supervisor) throw new Error('worker faults need the supervisor');
      supervisor.pauseWorker(pid);
      const resume = (): void => {
        pausedWorkers.delete(pid);
        // It may have been killed at its deadline meanwhile.
        if (supervisor.workers().some((worker) => worker.pid === pid)) supervisor.resumeWorker(pid);
      };
      pausedWorkers.set(pid, resume);
      try {
        await sleep(ms);
      } finally {
        resume();
      }
    },
    heal() {
      databasePaused?.resume();
      for (const resume of [...pausedWorkers.values()]) resume();
      dataApi?.faults.clear();
      for (const finish of [...faultEnds]) finish();
    },
  };
}

/** Sends a signal; false when the process is already gone (ESRCH), which is not an error here. */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}
