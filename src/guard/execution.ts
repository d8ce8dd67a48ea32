/**
 * Where an invocation runs, and what ending its process may cost. Detected, never configured.
 *
 * - `lambda`: standard Lambda. One invocation at a time per execution environment, frozen between
 *   invocations and reset after a timeout. A body abandoned at its deadline could resume after a
 *   freeze beside a later holder, so its environment is ended, but only once nothing else of
 *   lease-guard is in flight in it (another guarded invocation, a release still being sent).
 * - `managed-instances`: Lambda Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY` is set). One
 *   environment runs many invocations at once, is never frozen, and a timed-out invocation goes
 *   on running. The process is never ended: an abandoned body's lease is renewed until it settles.
 * - `process`: a plain Node.js process (`withLease`): renew while the body runs, signal on loss.
 */
export const ExecutionModel = {
  LAMBDA: 'lambda',
  MANAGED_INSTANCES: 'managed-instances',
  PROCESS: 'process',
} as const;
export type ExecutionModel = (typeof ExecutionModel)[keyof typeof ExecutionModel];

/** The model of a Lambda handler in this process: Lambda sets AWS_LAMBDA_MAX_CONCURRENCY on Managed Instances only. */
export function lambdaModel(env: NodeJS.ProcessEnv = process.env): ExecutionModel {
  const concurrency = env.AWS_LAMBDA_MAX_CONCURRENCY;
  return concurrency !== undefined && concurrency.trim() !== ''
    ? ExecutionModel.MANAGED_INSTANCES
    : ExecutionModel.LAMBDA;
}

/** One piece of guarded work in flight: a claim, a running body, a release. */
export interface Work {
  /** It ended: it no longer keeps the process alive. Idempotent. */
  done(): void;
}

interface InFlight {
  readonly works: Set<object>;
  /** Resolves the waits of `endEnvironment` when `works` empties. */
  readonly idle: Set<() => void>;
}

// Every copy of lease-guard loaded in this process (two bundles, ESM beside CommonJS) shares one
// registry: a process exit ends all of them, so all of them must be idle first.
const KEY = Symbol.for('lease-guard.in-flight');

function inFlight(): InFlight {
  const holder = globalThis as { [KEY]?: InFlight };
  holder[KEY] ??= { works: new Set(), idle: new Set() };
  return holder[KEY];
}

export function startWork(): Work {
  const { works, idle } = inFlight();
  const token = {};
  works.add(token);
  return {
    done() {
      if (!works.delete(token) || works.size > 0) return;
      for (const resolve of idle) resolve();
      idle.clear();
    },
  };
}

/** How many pieces of guarded work are in flight in this process (for tests and log lines). */
export function workInFlight(): number {
  return inFlight().works.size;
}

/**
 * Ends this execution environment (standard Lambda) once no other guarded work is in flight in
 * it: `self`, the abandoned run asking, does not count. The current invocation then fails with
 * Runtime.ExitError and the platform retries it; the next invocation gets a fresh process, so an
 * abandoned body can never resume beside a later holder. Exits synchronously when nothing else is
 * in flight, so nothing can answer the invocation first.
 */
export async function endEnvironment(self: Work): Promise<void> {
  self.done();
  const { works, idle } = inFlight();
  if (works.size > 0) await new Promise<void>((resolve) => idle.add(resolve));
  process.exit(1);
}
