/**
 * Bad configuration, in bulk and property-based: arbitrary strings, unicode and SQL fragments as
 * job and table names, and arbitrary values as the whole options object. The middleware either
 * accepts what the documented rules accept, or throws a LeaseGuardConfigError naming the option
 * at construction, never anything else. Every accepted job name is then claimed through the real
 * SDK and must be stored exactly as given; nothing else in the lease table may change.
 */
import fc from 'fast-check';
import { LeaseGuardConfigError } from '../../../src/errors.js';
import { quoteTable } from '../../../src/lease/names.js';
import { createSqlLeaseStore } from '../../../src/lease/sql-lease-store.js';
import { leaseGuard } from '../../../src/middleware/lease-guard.js';
import { countingHandler, localDataApiExecutor } from '../guarded-handler.js';
import { hostileText } from '../hostile.js';
import { compareSnapshots, snapshotLeases } from '../lease-snapshot.js';
import { checkProperty, combine } from '../property.js';
import type { Scenario } from '../scenario.js';

// The documented rules, restated here as the oracle (design.md §3, options.ts).
const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
const MAX_JOB_NAME = 128;
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const OPTION_KEYS = [
  'job',
  'table',
  'store',
  'executor',
  'client',
  'resourceArn',
  'leaseMs',
  'leaseMarginMs',
  'maxLeaseMs',
  'minHoldMs',
  'tick',
  'tickGranularityMs',
  'maxTickAgeMs',
  'maxTickAheadMs',
  'affinity',
  'retry',
  'onUnavailable',
  'releaseTimeoutMs',
  'logger',
  'metrics',
  'jobName',
  'constructor',
  'toString',
] as const;

/** Durations in ms: a number, finite and not negative, or absent for the default. */
const DURATION_KEYS = [
  'leaseMs',
  'leaseMarginMs',
  'maxLeaseMs',
  'minHoldMs',
  'tickGranularityMs',
  'maxTickAgeMs',
  'maxTickAheadMs',
  'releaseTimeoutMs',
] as const;

/**
 * An option the rules certainly refuse in `candidate`, or undefined when nothing is certainly
 * wrong (the oracle does not restate every rule; what it does restate must hold).
 */
function certainlyInvalid(candidate: unknown): string | undefined {
  if (candidate === undefined) return undefined;
  if (typeof candidate !== 'object' || candidate === null) return 'the options object';
  const options = candidate as Record<string, unknown>;
  const own = (key: string) => Object.hasOwn(options, key) && options[key] !== undefined;
  if (own('job') && !validJob(options.job)) return 'job';
  for (const key of DURATION_KEYS) {
    const value = options[key];
    if (own(key) && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) return key;
  }
  return undefined;
}

function validJob(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_JOB_NAME && JOB_NAME.test(value);
}

/** Null when `error` is the clear configuration error expected for `option`, else what is wrong. */
function unclear(error: unknown, option: string): string | null {
  if (!(error instanceof LeaseGuardConfigError)) {
    return `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}, not a LeaseGuardConfigError`;
  }
  return error.message.includes(option) ? null : `the error does not name ${option}: ${error.message}`;
}

export const badConfig: Scenario = {
  name: 'bad-config',
  catalogue: 'D5 (input)',
  proves:
    'Hostile job names, table names and options are accepted exactly when the rules allow, else refused at construction with a LeaseGuardConfigError naming the option; accepted names are stored verbatim and nothing else changes.',
  async run(context) {
    const { environment } = context;
    const numRuns = context.profile === 'quick' ? 100 : 400;
    const executor = localDataApiExecutor(environment);
    const store = createSqlLeaseStore({ executor: environment.executor, table: environment.table });
    const accepted = new Set<string>();
    let invocations = 0;
    let runs = 0;
    const before = await snapshotLeases(environment.executor, environment.table);
    try {
      const jobNames = await checkProperty(
        { invariant: 'job-name', job: '-' },
        fc.oneof(hostileText(), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,140}$/), fc.anything()),
        async (name) => {
          let handler: ReturnType<typeof countingHandler>;
          try {
            handler = countingHandler({ job: name as string, executor, table: environment.table });
          } catch (error) {
            if (validJob(name)) return `refused a valid job name: ${(error as Error).message}`;
            return unclear(error, 'job');
          }
          if (!validJob(name)) return 'accepted an invalid job name';
          invocations++;
          const result = await handler.invoke({});
          if (!('ran' in result)) return `a lease-only event for a valid name did not run: ${result.reason}`;
          runs++;
          accepted.add(name);
          const state = await store.inspect(name);
          if (state?.job !== name) return `stored as ${JSON.stringify(state?.job)}`;
          return state.fence === result.fence ? null : `stored fence ${state.fence}, ran with ${result.fence}`;
        },
        { seed: context.seed, numRuns },
      );
      const tableNames = await checkProperty(
        { invariant: 'table-name', job: '-' },
        fc.oneof(hostileText(80), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,70}$/), fc.anything()),
        async (table) => {
          const named = typeof table === 'string' && TABLE_NAME.test(table);
          const builders = [
            // Options are strict: absent means the default, null is not a name.
            {
              what: 'leaseGuard',
              valid: table === undefined || named,
              build: () => leaseGuard({ job: 'bad-config-table', table: table as string, executor }),
            },
            // The store's option is a plain `table ?? default`.
            {
              what: 'createSqlLeaseStore',
              valid: table == null || named,
              build: () => createSqlLeaseStore({ executor, table: table as string }),
            },
          ];
          for (const { what, valid, build } of builders) {
            try {
              build();
              if (!valid) return `${what} accepted an invalid table name`;
            } catch (error) {
              if (valid) return `${what} refused a valid table name: ${(error as Error).message}`;
              const problem = unclear(error, 'table');
              if (problem) return `${what}: ${problem}`;
            }
          }
          return null;
        },
        { seed: context.seed + 1, numRuns },
      );
      const value = fc.oneof(
        fc.anything(),
        fc.constantFrom(-1, 0, Number.NaN, Number.POSITIVE_INFINITY, 1e20, '', 'auto', 'off', true, null, executor),
      );
      const options = await checkProperty(
        { invariant: 'options', job: '-' },
        fc.oneof(
          fc.anything(),
          fc.dictionary(fc.constantFrom(...OPTION_KEYS), value, { maxKeys: 6 }),
          fc
            .record({ job: fc.constant('bad-config-options'), executor: fc.constant(executor) })
            .chain((base) =>
              fc
                .dictionary(fc.constantFrom(...OPTION_KEYS), value, { maxKeys: 4 })
                .map((extra) => ({ ...base, ...extra })),
            ),
        ),
        async (candidate) => {
          try {
            leaseGuard(candidate as never);
            const invalid = certainlyInvalid(candidate);
            return invalid ? `accepted an invalid ${invalid}` : null;
          } catch (error) {
            if (!(error instanceof LeaseGuardConfigError)) {
              return `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
            }
            return error.message.length > 0 ? null : 'an empty error message';
          }
        },
        { seed: context.seed + 2, numRuns },
      );
      const all = combine([jobNames, tableNames, options]);
      const after = await snapshotLeases(environment.executor, environment.table);
      return {
        faults: all.tried,
        invocations,
        runs,
        violations: [...all.violations, ...compareSnapshots(before, after, (job) => accepted.has(job))],
        notes: [`${all.tried} hostile inputs; ${accepted.size} distinct valid job names claimed and stored verbatim`],
      };
    } finally {
      // The accepted names' rows are ours: leave the table as we found it.
      for (const job of accepted) {
        await environment.executor.execute({
          sql: `DELETE FROM ${quoteTable(environment.table)} WHERE job = :job`,
          params: { job },
        });
      }
      await executor.close();
    }
  },
};
