/**
 * Issue 14, item 2: a stale holder's success still counts. Through the public middleware over
 * the real SDK and the local Data API:
 * - force release: an operator frees the lease while the body runs; the body then succeeds;
 * - expiry: on Lambda Managed Instances (never ended, so a body outlives a lost lease) the
 *   renewals of a short lease are lost, the lease runs out under a slow body and a retry of the
 *   same tick takes over (its body runs beside it: the overlap a lost lease allows where the
 *   process cannot be ended), the retry's body fails.
 * Either way the first body completed the tick, so a later duplicate must be refused as done, and
 * the stale release must leave the new holder's lease alone. The control drops the stale
 * holder's tick from its release (the behaviour before issue 14): the duplicate reruns the tick.
 */
import { LeaseStoreError, StoreErrorKind } from '../../../src/errors.js';
import type { LeaseStore } from '../../../src/lease/lease-store.js';
import { until } from '../../support/until.js';
import { currentTick, delegate, EDGE_OPTIONS, edgeHandler, edgeStore, schedulerEvent } from '../edge-handler.js';
import type { FaultViolation, Scenario, ScenarioContext, ScenarioReport } from '../scenario.js';

function renewalLost(): LeaseStoreError {
  return new LeaseStoreError('the renewal was lost on its way', {
    kind: StoreErrorKind.TRANSIENT,
    code: 'RenewalLost',
    ambiguous: false,
  });
}

/** Before issue 14: a release that is not this holder's any more changes nothing, not even the mark. */
function staleTickDropped(store: LeaseStore): LeaseStore {
  return {
    ...delegate(store),
    release: (request, options) =>
      store.release(request.outcome === 'success' ? { ...request, tick: null } : request, options),
  };
}

async function runStaleSuccess(context: ScenarioContext, control: boolean): Promise<ScenarioReport> {
  const { environment } = context;
  const { store: real, executor } = edgeStore(environment);
  const store = control ? staleTickDropped(real) : real;
  const violations: FaultViolation[] = [];
  const notes: string[] = [];
  let invocations = 0;
  let runs = 0;
  const suffix = `${context.runId}${control ? '-control' : ''}`;
  try {
    // Force release under a running body.
    {
      const job = `stale-forced-${suffix}`;
      const tick = await currentTick(environment);
      const guarded = edgeHandler({ job, store, ...EDGE_OPTIONS }, async () => {
        await real.forceRelease(job);
      });
      const first = await guarded.invoke(schedulerEvent(tick), { requestId: `${job}-first` });
      const duplicate = await guarded.invoke(schedulerEvent(tick), { requestId: `${job}-duplicate` });
      invocations += 2;
      runs += guarded.runs.length;
      if (first.kind !== 'ran')
        violations.push({ invariant: 'not-exercised', job, message: `the holder did not run (${first.kind})` });
      if (duplicate.kind === 'ran') {
        violations.push({
          invariant: 'tick-twice',
          job,
          message: 'after a force release, the completed tick ran again',
        });
      }
      notes.push(
        `force release: duplicate ${duplicate.kind === 'skipped' ? `skipped ${duplicate.reason}` : duplicate.kind}`,
      );
    }
    // Expiry and takeover under a slow body.
    {
      const job = `stale-expired-${suffix}`;
      const tick = await currentTick(environment);
      let releaseFirst: () => void = () => undefined;
      const firstMayEnd = new Promise<void>((resolve) => {
        releaseFirst = resolve;
      });
      let takeoverHolder: string | null = null;
      let holderAtStaleRelease: string | null | undefined;
      // Managed Instances (detected when the handler is made), and renewals that never land.
      const renewalsLost = { ...delegate(store), renew: () => Promise.reject(renewalLost()) };
      process.env.AWS_LAMBDA_MAX_CONCURRENCY = '2';
      const slow = (() => {
        try {
          return edgeHandler({ job, store: renewalsLost, ...EDGE_OPTIONS, leaseMs: 1000 }, async () => {
            await firstMayEnd;
          });
        } finally {
          delete process.env.AWS_LAMBDA_MAX_CONCURRENCY;
        }
      })();
      const retry = edgeHandler({ job, store, ...EDGE_OPTIONS }, async (_event, ctx) => {
        takeoverHolder = ctx.lease.holder;
        releaseFirst();
        // The stale holder's release lands while this one still holds the lease.
        await until(async () => (await real.inspect(job))?.tickDone?.getTime() === tick.getTime() || control, {
          what: 'the stale success to be recorded',
          timeoutMs: 5000,
        }).catch(() => undefined);
        holderAtStaleRelease = (await real.inspect(job))?.holder;
        throw new Error('the retry fails');
      });
      const firstRun = slow.invoke(schedulerEvent(tick), { requestId: `${job}-first`, timeoutMs: 6000 });
      await until(() => slow.runs.length > 0, { what: 'the slow holder to start' });
      await until(async () => (await real.inspect(job))?.held === false, { what: 'the fixed lease to run out' });
      const takeover = await retry.invoke(schedulerEvent(tick), { requestId: `${job}-retry` });
      const first = await firstRun;
      const later = edgeHandler({ job, store, ...EDGE_OPTIONS });
      const duplicate = await later.invoke(schedulerEvent(tick), { requestId: `${job}-duplicate` });
      invocations += 3;
      runs += slow.runs.length + later.runs.length;
      if (first.kind !== 'ran' || takeover.kind !== 'threw' || takeoverHolder === null) {
        violations.push({
          invariant: 'not-exercised',
          job,
          message: `holder ${first.kind}, takeover ${takeover.kind}`,
        });
      } else if (!control && holderAtStaleRelease !== takeoverHolder) {
        violations.push({ invariant: 'fencing', job, message: 'the stale release changed the new holder’s lease' });
      }
      if (duplicate.kind === 'ran') {
        violations.push({ invariant: 'tick-twice', job, message: 'after an expiry, the completed tick ran again' });
      }
      notes.push(`expiry: duplicate ${duplicate.kind === 'skipped' ? `skipped ${duplicate.reason}` : duplicate.kind}`);
    }
  } finally {
    await executor.close();
  }
  return { faults: 2, invocations, runs, violations, notes };
}

export const staleSuccess: Scenario = {
  name: 'stale-success',
  catalogue: 'T4 (issue 14.2)',
  proves:
    'A holder whose lease was force-released or expired and taken over still records its completed tick (forward only), leaving the new holder’s lease alone, so a duplicate never reruns it.',
  run: (context) => runStaleSuccess(context, false),
};

export const staleSuccessControl: Scenario = {
  name: 'stale-success-control',
  catalogue: 'T4 (control)',
  proves: 'The check catches a stale success that records nothing (before issue 14): the duplicate reruns the tick.',
  control: true,
  run: (context) => runStaleSuccess(context, true),
};
