import type { RDSDataClient } from '@aws-sdk/client-rds-data';
import { z } from 'zod';
import { DEFAULTS, MAX_LEASE_MS } from '../constants.js';
import { LeaseGuardConfigError } from '../errors.js';
import type { LeaseStore } from '../lease/lease-store.js';
import { assertJobName, assertTableName, assertToken, MAX_OWNER_LENGTH } from '../lease/names.js';
import type { SqlExecutor } from '../sql/executor.js';
import type { LeaseGuardLogger, LeaseGuardMetrics } from './observe.js';

/** A user's tick function: the schedule slot this event is for, or null for lease-only mode. */
export type TickFunction = (event: unknown) => Date | string | number | null | undefined;

const SECOND = 1000;
const MINUTE = 60 * SECOND;

function ms(option: string, { min = 0, max = MAX_LEASE_MS } = {}) {
  return z
    .number({ error: `${option} must be a number of milliseconds` })
    .finite()
    .min(min, { error: `${option} must be at least ${min} ms` })
    .max(max, { error: `${option} must be at most ${max} ms` });
}

function validated<T>(check: (value: unknown) => T) {
  return z.string().superRefine((value, ctx) => {
    try {
      check(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });
}

const hasMethods =
  (...names: string[]) =>
  (value: unknown): boolean =>
    typeof value === 'object' && value !== null && names.every((name) => typeof (value as never)[name] === 'function');

export const leaseGuardOptionsSchema = z
  .strictObject({
    /** The job's name: the lease row's key. Letters, digits and `._:/-`, at most 128 characters. */
    job: validated(assertJobName),
    /** @default process.env.LEASE_GUARD_TABLE ?? 'lease_guard' */
    table: validated(assertTableName).optional(),
    /** A ready lease store, e.g. `new MemoryLeaseStore()` from `lease-guard/testing` in unit tests. */
    store: z
      .custom<LeaseStore>(hasMethods('claim', 'release', 'renew'), { error: 'store must be a LeaseStore' })
      .optional(),
    /** A ready SQL executor (e.g. `createMysql2Executor`) instead of the Data API. */
    executor: z.custom<SqlExecutor>(hasMethods('execute'), { error: 'executor must be a SqlExecutor' }).optional(),
    /** An RDS Data API client to use instead of a new one. */
    client: z.custom<RDSDataClient>(hasMethods('send'), { error: 'client must be an RDSDataClient' }).optional(),
    /** Aurora cluster ARN. @default process.env.LEASE_GUARD_RESOURCE_ARN */
    resourceArn: z.string().min(1).optional(),
    /** Secrets Manager ARN of the database credentials. @default process.env.LEASE_GUARD_SECRET_ARN */
    secretArn: z.string().min(1).optional(),
    /** Database (schema) name. @default process.env.LEASE_GUARD_DATABASE */
    database: z.string().min(1).optional(),
    /** Region of the cluster's Data API. @default process.env.LEASE_GUARD_REGION, else the SDK's region */
    region: z.string().min(1).optional(),
    /** A fixed lease length. @default - the invocation's remaining time plus `leaseMarginMs`, at most `maxLeaseMs` */
    leaseMs: ms('leaseMs', { min: 1 }).optional(),
    /** How long the lease outlives the invocation's deadline (clock drift, the claim's own latency). @default 10000 */
    leaseMarginMs: ms('leaseMarginMs').default(10 * SECOND),
    /** Cap of the default lease length, and the lease used when there is no Lambda context. @default 910000 (15 min + 10 s) */
    maxLeaseMs: ms('maxLeaseMs', { min: 1 }).default(15 * MINUTE + 10 * SECOND),
    /** After a successful run, keep others out until this long after the claim. @default 0 */
    minHoldMs: ms('minHoldMs').default(0),
    /**
     * Where the tick comes from: `'auto'` reads EventBridge Scheduler's `scheduledTime` input or a
     * scheduled rule's `time`; `'off'` is lease-only mode; or a function of the event.
     * @default 'auto'
     */
    tick: z
      .union([z.literal('auto'), z.literal('off'), z.custom<TickFunction>((v) => typeof v === 'function')], {
        error: "tick must be 'auto', 'off' or a function (event) => Date | string | null",
      })
      .default('auto'),
    /** A scheduled rule's `time` is floored to this. @default 60000 */
    tickGranularityMs: ms('tickGranularityMs', { min: 1, max: 24 * 60 * MINUTE }).default(MINUTE),
    /** Older ticks (database clock) are stale retries or replays and do not run. @default 3600000 (1 h) */
    maxTickAgeMs: ms('maxTickAgeMs').default(DEFAULTS.maxTickAgeMs),
    /** Ticks further ahead (database clock) are forged or skewed and do not run. @default 300000 (5 min) */
    maxTickAheadMs: ms('maxTickAheadMs').default(DEFAULTS.maxTickAheadMs),
    /**
     * Affinity mode: one owner (by default the region) keeps the job; another takes over after the
     * owner has not claimed for `failoverAfterMs`. `true` uses the defaults.
     * @default false
     */
    affinity: z
      .union([
        z.boolean(),
        z.strictObject({
          owner: validated((v) => assertToken(v, 'affinity.owner', MAX_OWNER_LENGTH)).optional(),
          failoverAfterMs: ms('affinity.failoverAfterMs').default(DEFAULTS.failoverAfterMs),
        }),
      ])
      .default(false),
    /** Retries of transient store failures, with jittered backoff, within the invocation's remaining time. */
    retry: z
      .strictObject({
        /** @default 20000 */
        budgetMs: ms('retry.budgetMs').default(20 * SECOND),
        /** @default 100 */
        baseDelayMs: ms('retry.baseDelayMs').default(100),
        /** @default 2000 */
        maxDelayMs: ms('retry.maxDelayMs').default(2 * SECOND),
        /** @default 5000 */
        attemptTimeoutMs: ms('retry.attemptTimeoutMs', { min: 1 }).default(5 * SECOND),
        /** Time kept back from the budget for the release and the body. @default 1000 */
        reserveMs: ms('retry.reserveMs').default(SECOND),
      })
      .default({
        budgetMs: 20 * SECOND,
        baseDelayMs: 100,
        maxDelayMs: 2 * SECOND,
        attemptTimeoutMs: 5 * SECOND,
        reserveMs: SECOND,
      }),
    /** When the lease's state cannot be known: `'throw'` (the platform retries later) or `'skip'`. @default 'throw' */
    onUnavailable: z.enum(['throw', 'skip'], { error: "onUnavailable must be 'throw' or 'skip'" }).default('throw'),
    /** Deadline of the release statement. @default 5000 */
    releaseTimeoutMs: ms('releaseTimeoutMs', { min: 1 }).default(5 * SECOND),
    /** A logger (Powertools `Logger` fits), or false for none. @default a Powertools Logger */
    logger: z
      .union([
        z.literal(false),
        z.custom<LeaseGuardLogger>(hasMethods('info', 'warn', 'error'), { error: 'logger needs info, warn and error' }),
      ])
      .optional(),
    /** A metrics sink (Powertools `Metrics` fits), or false for none. @default Powertools Metrics, namespace LeaseGuard */
    metrics: z
      .union([
        z.literal(false),
        z.custom<LeaseGuardMetrics>(hasMethods('singleMetric'), { error: 'metrics needs singleMetric()' }),
      ])
      .optional(),
  })
  .superRefine((o, ctx) => {
    const sources = [o.store, o.executor, o.client].filter((v) => v !== undefined).length;
    if (sources > 1) {
      ctx.addIssue({ code: 'custom', path: ['store'], message: 'give at most one of store, executor and client' });
    }
    if (o.leaseMs !== undefined && o.minHoldMs > o.leaseMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['minHoldMs'],
        message: `minHoldMs must not exceed leaseMs (${o.leaseMs})`,
      });
    }
  });

export type LeaseGuardOptions = z.input<typeof leaseGuardOptionsSchema>;
export type ResolvedLeaseGuardOptions = z.output<typeof leaseGuardOptionsSchema>;

function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** Validates options once (cold start). A bad option throws a message naming it, the value and the fix. */
export function parseLeaseGuardOptions(options: unknown): ResolvedLeaseGuardOptions {
  if (typeof options !== 'object' || options === null) {
    throw new LeaseGuardConfigError(`leaseGuard needs an options object with at least { job }, got ${show(options)}.`);
  }
  const parsed = leaseGuardOptionsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.join('.') || '(options)';
    let value: unknown = options;
    for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
    const got = issue.code === 'unrecognized_keys' ? '' : `, got ${show(value)}`;
    return `${path}: ${issue.message}${got}`;
  });
  throw new LeaseGuardConfigError(`Invalid leaseGuard options. ${problems.join('; ')}.`, { cause: parsed.error });
}
