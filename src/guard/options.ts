import type { RDSDataClient } from '@aws-sdk/client-rds-data';
// zod/mini: the same validation as classic zod at a 25th of the bundle (cold starts matter).
import * as z from 'zod/mini';
import { DEFAULTS, LEASE_ENV, MAX_LEASE_MS, MIN_LEASE_MS } from '../constants.js';
import { leaseEnv } from '../env.js';
import { LeaseGuardConfigError } from '../errors.js';
import type { LeaseStore } from '../lease/lease-store.js';
import { assertJobName, assertTableName, assertToken, MAX_OWNER_LENGTH } from '../lease/names.js';
import { clustersSchema } from '../sql/cluster-settings.js';
import type { SqlExecutor } from '../sql/executor.js';
import type { LeaseGuardLogger, LeaseGuardMetrics } from './observe.js';

/** A user's tick function: the schedule slot this event is for, or null for lease-only mode. */
export type TickFunction = (event: unknown) => Date | string | number | null | undefined;

const MINUTE = 60_000;

function ms(option: string, { min = 0, max = MAX_LEASE_MS } = {}) {
  return z
    .number({ error: `${option} must be a number of milliseconds` })
    .check(
      z.minimum(min, { error: `${option} must be at least ${min} ms` }),
      z.maximum(max, { error: `${option} must be at most ${max} ms` }),
    );
}

function validated<T>(option: string, check: (value: unknown) => T) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `${option} is required` : `${option} must be a string`) })
    .check(
      z.superRefine((value, ctx) => {
        try {
          check(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message, input: value });
        }
      }),
    );
}

function nonEmpty(option: string) {
  return z
    .string({ error: `${option} must be a string` })
    .check(z.minLength(1, { error: `${option} must not be empty` }));
}

const hasMethods =
  (...names: string[]) =>
  (value: unknown): boolean =>
    typeof value === 'object' && value !== null && names.every((name) => typeof (value as never)[name] === 'function');

export const leaseGuardOptionsSchema = z
  .strictObject({
    /**
     * The job's name: the lease row's key. Letters, digits and `._:/-`, at most 128 characters.
     * @default process.env.LEASE_GUARD_JOB (the CDK construct sets it)
     */
    job: z.optional(validated('job', assertJobName)),
    /** @default process.env.LEASE_GUARD_TABLE ?? 'lease_guard' */
    table: z.optional(validated('table', assertTableName)),
    /** A ready lease store, e.g. `new MemoryLeaseStore()` from `lease-guard/testing` in unit tests. */
    store: z.optional(
      z.custom<LeaseStore>(hasMethods('claim', 'release', 'renew'), { error: 'store must be a LeaseStore' }),
    ),
    /** A ready SQL executor (e.g. `createMysql2Executor`) instead of the Data API. */
    executor: z.optional(z.custom<SqlExecutor>(hasMethods('execute'), { error: 'executor must be a SqlExecutor' })),
    /** An RDS Data API client to use instead of a new one. */
    client: z.optional(z.custom<RDSDataClient>(hasMethods('send'), { error: 'client must be an RDSDataClient' })),
    /** Aurora cluster ARN. @default process.env.LEASE_GUARD_RESOURCE_ARN */
    resourceArn: z.optional(nonEmpty('resourceArn')),
    /** Secrets Manager ARN of the database credentials. @default process.env.LEASE_GUARD_SECRET_ARN */
    secretArn: z.optional(nonEmpty('secretArn')),
    /** Database (schema) name. @default process.env.LEASE_GUARD_DATABASE */
    database: z.optional(nonEmpty('database')),
    /** Region of the cluster's Data API. @default process.env.LEASE_GUARD_REGION, else the SDK's region */
    region: z.optional(nonEmpty('region')),
    /**
     * The clusters of an Aurora Global Database, the primary first, instead of `resourceArn` and
     * `secretArn`: each `{ resourceArn, secretArn, region?, endpoint? }`. Calls go to the cluster
     * that answered last; one without a writer or out of reach sends them on to the next.
     * @default process.env.LEASE_GUARD_CLUSTERS (JSON)
     */
    clusters: z.optional(clustersSchema),
    /**
     * After a failover to another cluster, claims wait this long on the database clock (the
     * quarantine): leases granted on the lost primary, which the new one cannot see, end first.
     * It must cover the longest lease any claimant of the job takes. @default leaseMs ?? maxLeaseMs
     */
    failoverQuarantineMs: z.optional(ms('failoverQuarantineMs')),
    /**
     * A fixed lease length, at least 1000 ms. The lease is renewed while the body runs whenever it
     * would end before the body's last possible moment (standard Lambda: the guard's deadline;
     * Lambda Managed Instances and withLease: for as long as the body runs), so a lease shorter
     * than the invocation never lets a second run start beside it. It bounds how long a crashed
     * holder blocks the job.
     * @default - the invocation's remaining time plus `leaseMarginMs`, at most `maxLeaseMs`
     */
    leaseMs: z.optional(ms('leaseMs', { min: MIN_LEASE_MS })),
    /** How long the lease outlives the invocation's deadline (clock drift, the claim's own latency). @default 10000 */
    leaseMarginMs: z._default(ms('leaseMarginMs'), DEFAULTS.leaseMarginMs),
    /**
     * Cap of the default lease length, and the lease used when there is no Lambda context; at
     * least 1000 ms. A capped lease is renewed while the body runs, like `leaseMs`.
     * @default 910000 (15 min + 10 s)
     */
    maxLeaseMs: z._default(ms('maxLeaseMs', { min: MIN_LEASE_MS }), DEFAULTS.maxLeaseMs),
    /** After a successful run, keep others out until this long after the claim. @default 0 */
    minHoldMs: z._default(ms('minHoldMs'), 0),
    /**
     * Where the tick comes from: `'auto'` reads EventBridge Scheduler's `scheduledTime` input or a
     * scheduled rule's `time`; `'off'` is lease-only mode; or a function of the event.
     * @default 'auto'
     */
    tick: z._default(
      z.union([z.literal('auto'), z.literal('off'), z.custom<TickFunction>((v) => typeof v === 'function')], {
        error: "tick must be 'auto', 'off' or a function (event) => Date | string | null",
      }),
      'auto',
    ),
    /**
     * Refuse events without a tick instead of running them lease-only: they are skipped with
     * reason `no-tick`, logged at WARN. For schedules that always send one (GuardedSchedule sets it),
     * so a wrapped or misspelled scheduled time can never run the body without once-per-tick.
     * @default process.env.LEASE_GUARD_REQUIRE_TICK === 'true' (GuardedSchedule sets it), else false
     */
    requireTick: z._default(z.boolean({ error: 'requireTick must be true or false' }), false),
    /** A scheduled rule's `time` is floored to this. @default 60000 */
    tickGranularityMs: z._default(ms('tickGranularityMs', { min: 1, max: 24 * 60 * MINUTE }), MINUTE),
    /** Older ticks (database clock) are stale retries or replays and do not run. @default 3600000 (1 h) */
    maxTickAgeMs: z._default(ms('maxTickAgeMs'), DEFAULTS.maxTickAgeMs),
    /**
     * Ticks further ahead (database clock) are forged or skewed and do not run. Real ticks are ahead
     * only by clock error; a tick that runs moves the completed mark up to it. @default 30000 (30 s)
     */
    maxTickAheadMs: z._default(ms('maxTickAheadMs'), DEFAULTS.maxTickAheadMs),
    /**
     * Affinity mode: one owner (by default the region) keeps the job; another takes over after the
     * owner has not claimed for `failoverAfterMs`. `true` uses the defaults.
     * @default false
     */
    affinity: z._default(
      z.union(
        [
          z.boolean(),
          z.strictObject({
            owner: z.optional(validated('affinity.owner', (v) => assertToken(v, 'affinity.owner', MAX_OWNER_LENGTH))),
            failoverAfterMs: z._default(ms('affinity.failoverAfterMs'), DEFAULTS.failoverAfterMs),
          }),
        ],
        { error: 'affinity must be true, false or { owner?, failoverAfterMs? }' },
      ),
      false,
    ),
    /** Retries of transient store failures, with jittered backoff, within the invocation's remaining time. */
    retry: z._default(
      z.strictObject({
        /** Claim retries stop after this. @default 20000 */
        budgetMs: z._default(ms('retry.budgetMs'), DEFAULTS.retry.budgetMs),
        /** @default 100 */
        baseDelayMs: z._default(ms('retry.baseDelayMs'), DEFAULTS.retry.baseDelayMs),
        /** @default 2000 */
        maxDelayMs: z._default(ms('retry.maxDelayMs'), DEFAULTS.retry.maxDelayMs),
        /** Deadline of one claim attempt. @default 5000 */
        attemptTimeoutMs: z._default(ms('retry.attemptTimeoutMs', { min: 1 }), DEFAULTS.retry.attemptTimeoutMs),
        /** Time kept back from the claim's budget for the body and the release. @default 1000 */
        reserveMs: z._default(ms('retry.reserveMs'), DEFAULTS.retry.reserveMs),
      }),
      DEFAULTS.retry,
    ),
    /** When the lease's state cannot be known: `'throw'` (the platform retries later) or `'skip'`. @default 'throw' */
    onUnavailable: z._default(z.enum(['throw', 'skip'], { error: "onUnavailable must be 'throw' or 'skip'" }), 'throw'),
    /**
     * Deadline of one release attempt. The release is retried until the invocation's deadline,
     * and the middleware stops the body this long (plus 250 ms) before the deadline. @default 2000
     */
    releaseTimeoutMs: z._default(ms('releaseTimeoutMs', { min: 1 }), DEFAULTS.releaseTimeoutMs),
    /** A logger (Powertools `Logger` fits), or false for none. @default a Powertools Logger */
    logger: z.optional(
      z.union([z.literal(false), z.custom<LeaseGuardLogger>(hasMethods('info', 'warn', 'error'))], {
        error: 'logger must be false or an object with info, warn and error methods (a Powertools Logger fits)',
      }),
    ),
    /** A metrics sink (Powertools `Metrics` fits), or false for none. @default Powertools Metrics, namespace LeaseGuard */
    metrics: z.optional(
      z.union([z.literal(false), z.custom<LeaseGuardMetrics>(hasMethods('singleMetric'))], {
        error: 'metrics must be false or an object with singleMetric() (a Powertools Metrics fits)',
      }),
    ),
  })
  .check(
    z.superRefine((o, ctx) => {
      const sources = [o.store, o.executor, o.client].filter((v) => v !== undefined).length;
      if (sources > 1) {
        ctx.addIssue({ code: 'custom', path: ['store'], message: 'give at most one of store, executor and client' });
      }
      if (o.clusters !== undefined) {
        const single = (['resourceArn', 'secretArn', 'region', 'client', 'store', 'executor'] as const).filter(
          (key) => o[key] !== undefined,
        );
        if (single.length > 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['clusters'],
            message: `give clusters or ${single.join(' and ')}, not both (each cluster has its own ARN, secret and region)`,
          });
        }
      }
      if (o.retry.baseDelayMs > o.retry.maxDelayMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['retry', 'baseDelayMs'],
          message: `retry.baseDelayMs must not exceed retry.maxDelayMs (${o.retry.maxDelayMs})`,
        });
      }
      // Only between two valid durations: an invalid leaseMs has its own message.
      if (
        typeof o.leaseMs === 'number' &&
        o.leaseMs >= MIN_LEASE_MS &&
        typeof o.minHoldMs === 'number' &&
        o.minHoldMs > o.leaseMs
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['minHoldMs'],
          message: `minHoldMs must not exceed leaseMs (${o.leaseMs})`,
        });
      }
    }),
  );

export type LeaseGuardOptions = z.input<typeof leaseGuardOptionsSchema>;
/** The options with every default filled in; `job` from the option or LEASE_GUARD_JOB. */
export type ResolvedLeaseGuardOptions = Omit<z.output<typeof leaseGuardOptionsSchema>, 'job'> & {
  readonly job: string;
};

function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** Validates options once (cold start). A bad option throws a message naming it, the value and the fix. */
export function parseLeaseGuardOptions(options: unknown): ResolvedLeaseGuardOptions {
  if (typeof options !== 'object' || options === null) {
    throw new LeaseGuardConfigError(`leaseGuard needs an options object (e.g. { job }), got ${show(options)}.`);
  }
  const parsed = leaseGuardOptionsSchema.safeParse(options);
  if (parsed.success) {
    const given = (options as { requireTick?: unknown }).requireTick;
    return {
      ...parsed.data,
      job: resolveJob(parsed.data.job),
      requireTick: given === undefined ? requireTickFromEnv() : parsed.data.requireTick,
    };
  }
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.join('.') || '(options)';
    let value: unknown = options;
    for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length > 0 ? ` in ${path}` : '';
      return `unknown option${issue.keys.length > 1 ? 's' : ''}${where}: ${issue.keys.join(', ')} (check the spelling; options are listed in the README)`;
    }
    // Messages from our own validators already quote the value.
    const message = issue.message.replace(/\.$/, '');
    const got = message.includes(', got ') ? '' : `, got ${show(value)}`;
    return `${path}: ${message}${got}`;
  });
  throw new LeaseGuardConfigError(`Invalid leaseGuard options. ${problems.join('; ')}.`, { cause: parsed.error });
}

/**
 * The `job` option, else LEASE_GUARD_JOB; neither is a config error at cold start, and so is a
 * `job` option that differs from LEASE_GUARD_JOB (set by GuardedSchedule): the construct's alarms
 * and watchdog would watch a job that never runs.
 */
function resolveJob(job: string | undefined): string {
  const fromEnv = leaseEnv('JOB');
  if (job !== undefined) {
    if (fromEnv !== undefined && fromEnv !== job) {
      throw new LeaseGuardConfigError(
        `Invalid leaseGuard options. job is ${show(job)} but ${LEASE_ENV.JOB} is ${show(fromEnv)} (GuardedSchedule sets it to its jobName): the construct's alarms and watchdog would watch a job that never runs. Leave the job option out to use ${LEASE_ENV.JOB}, or give the construct the same jobName.`,
      );
    }
    return job;
  }
  if (fromEnv === undefined) {
    throw new LeaseGuardConfigError(
      `Invalid leaseGuard options. job is required: pass the job option or set ${LEASE_ENV.JOB} (GuardedSchedule sets it).`,
    );
  }
  return assertJobName(fromEnv, LEASE_ENV.JOB);
}

/** LEASE_GUARD_REQUIRE_TICK: `true` or `false`; anything else is a config error at cold start. */
function requireTickFromEnv(): boolean {
  const text = leaseEnv('REQUIRE_TICK');
  if (text === undefined || text === 'false') return false;
  if (text === 'true') return true;
  throw new LeaseGuardConfigError(
    `Invalid leaseGuard options. ${LEASE_ENV.REQUIRE_TICK} must be true or false, got ${show(text)}.`,
  );
}
