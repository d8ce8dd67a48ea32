/**
 * A lease store that lives in the supervisor, reached by the workers over their IPC channel: how
 * the demo runs on the in-memory store (`lease-guard/testing`) when there is no SQL server. The
 * channel keeps order, so a worker's "body ended" still reaches the supervisor before its release.
 */
import { LeaseStoreError, StoreErrorKind } from '../errors.js';
import type { LeaseStore } from '../lease/lease-store.js';
import { abortedError } from '../sql/classify.js';

export const STORE_METHODS = ['claim', 'release', 'renew', 'withdraw', 'inspect', 'list', 'forceRelease'] as const;
export type StoreMethod = (typeof STORE_METHODS)[number];

export interface StoreCallMessage {
  readonly type: 'store-call';
  readonly id: number;
  readonly method: StoreMethod;
  readonly args: readonly unknown[];
}

export interface StoreReplyMessage {
  readonly type: 'store-reply';
  readonly id: number;
  readonly value?: unknown;
  readonly error?: {
    readonly message: string;
    readonly kind: StoreErrorKind;
    readonly code: string;
    readonly ambiguous: boolean;
  };
}

/** Dates survive the JSON channel as `{ $date: iso }`. */
function encode(value: unknown): unknown {
  if (value instanceof Date) return { $date: value.toISOString() };
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, encode(inner)]));
  }
  return value;
}

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === 'object') {
    const date = (value as { $date?: unknown }).$date;
    if (typeof date === 'string') return new Date(date);
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, decode(inner)]));
  }
  return value;
}

/** The supervisor's side: runs one call on the store and says how it went. */
export async function answerStoreCall(store: LeaseStore, call: StoreCallMessage): Promise<StoreReplyMessage> {
  try {
    if (!STORE_METHODS.includes(call.method)) throw new TypeError(`no store method ${String(call.method)}`);
    const method = store[call.method] as (...args: unknown[]) => Promise<unknown>;
    return {
      type: 'store-reply',
      id: call.id,
      value: encode(await method.apply(store, decode(call.args) as unknown[])),
    };
  } catch (error) {
    const e = error instanceof LeaseStoreError ? error : undefined;
    return {
      type: 'store-reply',
      id: call.id,
      error: {
        message: error instanceof Error ? error.message : String(error),
        kind: e?.kind ?? StoreErrorKind.PERMANENT,
        code: e?.code ?? 'StoreError',
        ambiguous: e?.ambiguous ?? false,
      },
    };
  }
}

/** The worker's side: a LeaseStore whose every call goes to the supervisor and waits for its reply. */
export function createIpcLeaseStore(send: (call: StoreCallMessage) => Promise<void>): {
  readonly store: LeaseStore;
  /** Feed every reply from the supervisor here. */
  onReply(reply: StoreReplyMessage): void;
} {
  let next = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();

  function call(method: StoreMethod, args: unknown[], signal: AbortSignal | undefined): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(abortedError(signal.reason));
    const id = next++;
    return new Promise((resolve, reject) => {
      // An abandoned call may still be applied by the supervisor: ambiguous, as over the network.
      const onAbort = (): void => {
        pending.delete(id);
        reject(abortedError(signal?.reason));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      pending.set(id, {
        resolve: (value) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      send({ type: 'store-call', id, method, args: encode(args) as unknown[] }).catch((error: unknown) => {
        pending
          .get(id)
          ?.reject(
            new LeaseStoreError(
              `the supervisor's store is unreachable: ${String(error)}`,
              { kind: StoreErrorKind.TRANSIENT, code: 'IpcClosed' },
              { cause: error },
            ),
          );
        pending.delete(id);
      });
    });
  }

  const store: LeaseStore = {
    claim: (request, options) => call('claim', [request], options?.signal) as ReturnType<LeaseStore['claim']>,
    release: (request, options) => call('release', [request], options?.signal) as ReturnType<LeaseStore['release']>,
    renew: (request, options) => call('renew', [request], options?.signal) as ReturnType<LeaseStore['renew']>,
    withdraw: (request, options) => call('withdraw', [request], options?.signal) as ReturnType<LeaseStore['withdraw']>,
    inspect: (job, options) => call('inspect', [job], options?.signal) as ReturnType<LeaseStore['inspect']>,
    list: (options) => call('list', [], options?.signal) as ReturnType<LeaseStore['list']>,
    forceRelease: (job, options) =>
      call('forceRelease', [job], options?.signal) as ReturnType<LeaseStore['forceRelease']>,
  };
  return {
    store,
    onReply(reply) {
      const waiting = pending.get(reply.id);
      if (!waiting) return; // abandoned at its deadline
      pending.delete(reply.id);
      if (reply.error) {
        const { message, kind, code, ambiguous } = reply.error;
        waiting.reject(new LeaseStoreError(message, { kind, code, ambiguous }));
      } else {
        waiting.resolve(decode(reply.value));
      }
    },
  };
}
