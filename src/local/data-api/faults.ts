/**
 * Fault hooks for tests: deterministic rules (counts and time windows, no dice) that make the
 * server answer with an exception, answer late, run a call and then drop the connection without
 * answering, or never answer at all.
 */
import { DATA_API_EXCEPTIONS, type DataApiExceptionName } from './errors.js';

export const DataApiOperation = {
  EXECUTE_STATEMENT: 'ExecuteStatement',
  BATCH_EXECUTE_STATEMENT: 'BatchExecuteStatement',
  BEGIN_TRANSACTION: 'BeginTransaction',
  COMMIT_TRANSACTION: 'CommitTransaction',
  ROLLBACK_TRANSACTION: 'RollbackTransaction',
} as const;
export type DataApiOperation = (typeof DataApiOperation)[keyof typeof DataApiOperation];

/** Which calls a fault applies to. Every condition given must hold. */
export interface FaultScope {
  /** Only these operations. @default - every operation */
  readonly operations?: readonly DataApiOperation[];
  /** Only calls whose SQL text matches (operations without SQL never match). @default - any call */
  readonly match?: RegExp;
  /** Apply to this many matching calls, then retire. @default - until removed */
  readonly count?: number;
  /** Apply for this long after injection, then retire. @default - until removed */
  readonly forMs?: number;
}

/** What a fault does; give exactly one. */
export type FaultEffect =
  /** Answer with this exception (its modelled status) without running the call. */
  | { readonly exception: DataApiExceptionName; readonly message?: string; readonly dbConnectionId?: number }
  /** Wait this long before running the call. */
  | { readonly latencyMs: number }
  /** Run the call (and commit it, outside a transaction), then close the socket without answering. */
  | { readonly dropResponseAfterCommit: true }
  /** Never run or answer the call; let it go when the client disconnects. */
  | { readonly hangUntilClientGivesUp: true };

export type FaultRule = FaultScope & FaultEffect;

export interface FaultHandle {
  /** How many calls this fault has affected so far. */
  readonly hits: number;
  /** Resolves once the fault has affected `n` calls (default 1). */
  waitForHits(n?: number): Promise<void>;
  remove(): void;
}

export interface FaultInjector {
  inject(rule: FaultRule): FaultHandle;
  /** Removes every fault. */
  clear(): void;
}

/** What the server does with one call, after looking at every active fault in injection order. */
export interface FaultPlan {
  readonly latencyMs: number;
  readonly exception?: {
    readonly name: DataApiExceptionName;
    readonly message: string;
    readonly dbConnectionId?: number;
  };
  readonly dropResponse: boolean;
  readonly hang: boolean;
}

const NO_FAULT: FaultPlan = { latencyMs: 0, dropResponse: false, hang: false };

const EFFECT_KEYS = ['exception', 'latencyMs', 'dropResponseAfterCommit', 'hangUntilClientGivesUp'] as const;

const DEFAULT_MESSAGES: Partial<Record<DataApiExceptionName, string>> = {
  DatabaseResumingException:
    'The Aurora DB instance arn:aws:rds:us-east-1:000000000000:cluster:lease-guard-local is resuming after being auto-paused. Please wait a few seconds and try again.',
  StatementTimeoutException: 'Request timed out',
  ThrottlingException: 'Rate exceeded',
};

interface ActiveRule {
  readonly rule: FaultRule;
  readonly effect: (typeof EFFECT_KEYS)[number];
  readonly until: number;
  hits: number;
  readonly waiters: { readonly n: number; readonly resolve: () => void }[];
}

export interface FaultTable extends FaultInjector {
  /** Consumes one hit of every active fault that applies to this call. */
  plan(operation: DataApiOperation, sql: string | undefined): FaultPlan;
}

export function createFaultTable(): FaultTable {
  let rules: ActiveRule[] = [];

  function inject(rule: FaultRule): FaultHandle {
    const effects = EFFECT_KEYS.filter((key) => (rule as unknown as Record<string, unknown>)[key] !== undefined);
    const [effect] = effects;
    if (effect === undefined || effects.length !== 1) {
      throw new TypeError(
        `A fault needs exactly one of ${EFFECT_KEYS.join(', ')}; got ${effects.join(', ') || 'none'}.`,
      );
    }
    if ('exception' in rule && !(rule.exception in DATA_API_EXCEPTIONS)) {
      throw new TypeError(`Unknown exception ${String(rule.exception)}.`);
    }
    const active: ActiveRule = {
      rule,
      effect,
      until: Date.now() + (rule.forMs ?? Number.POSITIVE_INFINITY),
      hits: 0,
      waiters: [],
    };
    rules.push(active);
    return {
      get hits() {
        return active.hits;
      },
      waitForHits(n = 1) {
        if (active.hits >= n) return Promise.resolve();
        return new Promise((resolve) => active.waiters.push({ n, resolve }));
      },
      remove() {
        rules = rules.filter((candidate) => candidate !== active);
      },
    };
  }

  function applies(active: ActiveRule, operation: DataApiOperation, sql: string | undefined, now: number): boolean {
    const { rule } = active;
    if (now > active.until || (rule.count !== undefined && active.hits >= rule.count)) return false;
    if (rule.operations && !rule.operations.includes(operation)) return false;
    if (rule.match && (sql === undefined || !rule.match.test(sql))) return false;
    return true;
  }

  function plan(operation: DataApiOperation, sql: string | undefined): FaultPlan {
    const now = Date.now();
    let result: FaultPlan = NO_FAULT;
    let terminal = false;
    for (const active of rules) {
      if (!applies(active, operation, sql, now)) continue;
      const { rule, effect } = active;
      if (effect === 'latencyMs' && 'latencyMs' in rule) {
        result = { ...result, latencyMs: result.latencyMs + rule.latencyMs };
      } else if (terminal) {
        continue; // the first terminal fault decides; later ones keep their hits
      } else if (effect === 'exception' && 'exception' in rule) {
        terminal = true;
        result = {
          ...result,
          exception: {
            name: rule.exception,
            message: rule.message ?? DEFAULT_MESSAGES[rule.exception] ?? `Injected ${rule.exception}`,
            ...(rule.dbConnectionId === undefined ? {} : { dbConnectionId: rule.dbConnectionId }),
          },
        };
      } else {
        terminal = true;
        result = effect === 'dropResponseAfterCommit' ? { ...result, dropResponse: true } : { ...result, hang: true };
      }
      hit(active);
    }
    rules = rules.filter(
      (active) => now <= active.until && (active.rule.count === undefined || active.hits < active.rule.count),
    );
    return result;
  }

  function hit(active: ActiveRule): void {
    active.hits++;
    for (const waiter of active.waiters.filter((candidate) => candidate.n <= active.hits)) {
      active.waiters.splice(active.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  return {
    inject,
    plan,
    clear() {
      rules = [];
    },
  };
}
