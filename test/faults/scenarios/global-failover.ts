/**
 * The database's region goes down (issue 13). A stand-in Aurora Global Database: two MariaDB
 * servers in asynchronous replication, each behind its own local Data API endpoint and ARN; the
 * guard in three simulated regions is given both clusters, the primary first. The nemesis stops
 * replication (the ticks that follow stay on the primary only: the lost window), kills the
 * primary while a holder runs its body, promotes the replica, and the same tick is delivered
 * again from the other regions at once. The schedule keeps running throughout.
 *
 * Checked on the history: no two bodies at once; fencing tokens strictly increasing across the
 * failover (the new primary hands out tokens past anything the lost window could have); a tick
 * run twice only when its first run was in the lost window and its second after the quarantine;
 * every tick due after the quarantine runs. The control is the same run with the quarantine off
 * (the claim's quarantine length rewritten to 0 on the way to the new primary): the re-delivered
 * tick then runs beside the holder the new primary cannot see.
 */
import { LEASE_ENV } from '../../../src/constants.js';
import { Invariant } from '../../../src/fleet/checker.js';
import type { FleetEnvironment } from '../../../src/fleet/environment.js';
import { type FailoverTimeline, failoverSteps } from '../../../src/fleet/failover-nemesis.js';
import { Delivery, InvocationOutcome, type InvocationRecord } from '../../../src/fleet/history.js';
import type { ScheduleItem } from '../../../src/fleet/run-schedule.js';
import type { RegionSpec } from '../../../src/fleet/supervisor.js';
import { SkipReason } from '../../../src/lease/lease-store.js';
import { type LocalGlobalDatabase, startLocalGlobalDatabase } from '../../../src/local/local-global-database.js';
import { fleetJob, fleetReport, runFleet, runFleetSchedule } from '../fleet-run.js';
import type { FaultViolation, Scenario, ScenarioContext, ScenarioReport } from '../scenario.js';
import { type SqlRewriteProxy, startSqlRewriteProxy } from '../sql-rewrite-proxy.js';
import { deliverEachRegion, planTicks } from '../ticks.js';

const TIMEOUT_MS = 3000;
/** Fixed, so the quarantine (which defaults to the job's longest lease) is this long. */
const LEASE_MS = 3500;
const TICK_EVERY_MS = 1500;
/** Replication stops before this tick: it and the next run on the primary only. */
const STOP_AT = 3;
/** The primary is killed while this tick's holder runs its (longer) body. */
const KILL_AT = 5;
const KILL_BODY_MS = 2200;
/** Promotion, compressed (Aurora's takes about a minute). */
const PROMOTE_AFTER_MS = 300;
const REGIONS: readonly RegionSpec[] = [
  { name: 'us-east-1', workers: 2 },
  { name: 'eu-west-1', workers: 2 },
  { name: 'ap-southeast-2', workers: 2 },
];

export const globalFailover: Scenario = {
  name: 'global-failover',
  catalogue: 'B10',
  proves:
    'An unplanned global failover (replication stopped, primary killed mid-body, replica promoted) never runs two bodies at once, keeps fencing tokens rising across it, reruns only ticks of the lost window and only after the quarantine, and runs every tick due after the quarantine.',
  run: (context) => runGlobalFailover(context, false),
};

export const globalFailoverControl: Scenario = {
  name: 'global-failover-control',
  catalogue: 'B10',
  proves:
    'The same failover with the quarantine off runs the re-delivered tick beside the holder the new primary cannot see.',
  control: true,
  run: (context) => runGlobalFailover(context, true),
};

async function runGlobalFailover(
  context: ScenarioContext,
  control: boolean,
): Promise<ScenarioReport | { notRun: string }> {
  if (!context.environment.throwaway) {
    return { notRun: 'the failover needs two throwaway servers (LEASE_GUARD_MYSQL_URL is set)' };
  }
  const db = await startLocalGlobalDatabase({ log: context.log });
  let proxy: SqlRewriteProxy | undefined;
  try {
    let clusters = db.clusters;
    if (control) {
      // The quarantine off, only where it matters: the new primary.
      proxy = await startSqlRewriteProxy(db.secondaryApi.url, (sql) => sql.replaceAll(':quarantine_us', '0'));
      clusters = [clusters[0], { ...clusters[1], endpoint: proxy.url }] as typeof clusters;
    }
    const environment: FleetEnvironment = {
      ...context.environment,
      throwaway: null,
      workerEnv: { ...db.env, [LEASE_ENV.CLUSTERS]: JSON.stringify(clusters) },
    };
    const report = await drive({ ...context, environment }, db);
    if (!control) return report;
    if (!proxy || proxy.rewrites === 0)
      throw new Error('no claim reached the new primary through the proxy: the control proved nothing');
    const caught = report.violations.filter(
      (v) => v.invariant === Invariant.OVERLAP || v.invariant === Invariant.TICK_TWICE,
    );
    return {
      ...report,
      violations: caught,
      notes: [...report.notes, `${proxy.rewrites} statements sent with the quarantine off`],
    };
  } finally {
    await proxy?.close();
    await db.stop();
  }
}

async function drive(context: ScenarioContext, db: LocalGlobalDatabase): Promise<ScenarioReport> {
  const job = fleetJob(`failover-${context.runId}`, { leaseMs: LEASE_MS });
  const count = context.profile === 'quick' ? 11 : 14;
  let timeline: FailoverTimeline | undefined;
  const outcome = await runFleet(context, { jobs: [job], regions: REGIONS, maxWorkersPerRegion: 4 }, async (fleet) => {
    const { random, history, supervisor } = fleet;
    const ticks = await planTicks(context.environment, count, TICK_EVERY_MS);
    const steps = failoverSteps({
      db,
      supervisor,
      history,
      job: job.job,
      regions: REGIONS,
      stopAtMs: 300 + STOP_AT * TICK_EVERY_MS - 300,
      killAtMs: 300 + KILL_AT * TICK_EVERY_MS,
      killTick: ticks[KILL_AT] as Date,
      promoteAfterMs: PROMOTE_AFTER_MS,
      timeoutMs: TIMEOUT_MS,
    });
    timeline = steps.timeline;
    const items: ScheduleItem[] = [...steps.items];
    ticks.forEach((tick, index) => {
      items.push(
        ...deliverEachRegion(300 + index * TICK_EVERY_MS, tick, {
          job: job.job,
          regions: REGIONS,
          timeoutMs: TIMEOUT_MS,
          delayMs: () => random.int(0, 30),
          body: () => ({ bodyMs: index === KILL_AT ? KILL_BODY_MS : random.int(900, 1100), registerDelayMs: 0 }),
        }),
      );
    });
    await runFleetSchedule(fleet, {
      items,
      lambdaRetry: { delaysMs: [1000, 2000] },
      settleTimeoutMs: 60_000,
      onDispatched: steps.onDispatched,
    });
  });
  if (!timeline) throw new Error('the failover run did not start');
  return judge(outcome, timeline);
}

type Outcome = Awaited<ReturnType<typeof runFleet>>;

function judge(outcome: Outcome, timeline: FailoverTimeline): ScenarioReport {
  const records = outcome.history.invocations;
  const extra: FaultViolation[] = [];
  const job = outcome.check.jobs[0]?.job ?? '-';
  const quarantined = records
    .filter((r) => r.reason === SkipReason.FAILOVER_QUARANTINE)
    .sort((a, b) => a.startObs - b.startObs);
  const first = quarantined[0];
  const notes: string[] = [];
  if (!first) {
    extra.push({ invariant: 'not-exercised', job, message: 'no claim saw the failover (no failover-quarantine skip)' });
  }
  const ran = (r: InvocationRecord): boolean => r.outcome === InvocationOutcome.RAN && r.bodyStartObs !== null;
  const lostRuns = records.filter(
    (r) => ran(r) && (r.bodyStartObs as number) >= timeline.stopObs && (r.bodyStartObs as number) <= timeline.killObs,
  );
  if (lostRuns.length === 0) {
    extra.push({ invariant: 'not-exercised', job, message: 'no run completed in the lost window' });
  }
  // The documented quarantine: from the detecting claim's send, at the latest, for the longest lease.
  const quarantineEnd = first ? first.endObs + LEASE_MS : Number.POSITIVE_INFINITY;
  const quarantineStart = first ? first.startObs : Number.POSITIVE_INFINITY;

  // A tick run twice is allowed only as documented: first in the lost window, again after the quarantine.
  const allowed = new Set<string>();
  for (const twice of outcome.check.jobs[0]?.ticksRunTwice ?? []) {
    const runs = records
      .filter((r) => ran(r) && r.tick === twice.tick)
      .sort((a, b) => (a.bodyStartObs as number) - (b.bodyStartObs as number));
    const [earlier, later] = runs;
    if (
      runs.length === 2 &&
      earlier &&
      later &&
      (earlier.bodyStartObs as number) >= timeline.stopObs &&
      (earlier.bodyStartObs as number) <= timeline.killObs &&
      (later.bodyStartObs as number) >= quarantineStart + LEASE_MS
    ) {
      allowed.add(twice.tick);
    }
  }

  // Every tick due after the quarantine runs.
  const firstDelivery = new Map<string, number>();
  for (const r of records) {
    if (r.tick === null || r.delivery !== Delivery.SCHEDULED) continue;
    firstDelivery.set(r.tick, Math.min(firstDelivery.get(r.tick) ?? Number.POSITIVE_INFINITY, r.startObs));
  }
  const ranTicks = new Set(records.filter(ran).map((r) => r.tick));
  const after = [...firstDelivery].filter(([, at]) => at >= quarantineEnd).map(([tick]) => tick);
  for (const tick of after) {
    if (!ranTicks.has(tick))
      extra.push({ invariant: 'liveness', job, message: `tick ${tick}, due after the quarantine, never ran` });
  }
  if (first && after.length === 0)
    extra.push({ invariant: 'not-exercised', job, message: 'no tick was due after the quarantine' });
  const skippedTicks = new Set(quarantined.map((r) => r.tick).filter((tick) => tick !== null && !ranTicks.has(tick)));

  const fences = records
    .filter((r) => r.bodyStartObs !== null)
    .sort((a, b) => (a.bodyStartObs as number) - (b.bodyStartObs as number));
  const before = fences.filter((r) => (r.bodyStartObs as number) < timeline.killObs).at(-1);
  const afterFailover = fences.find((r) => (r.bodyStartObs as number) > timeline.promoteObs);
  notes.push(
    `replication stopped ${fmt(timeline.killObs - timeline.stopObs)} before the kill; ${lostRuns.length} run(s) in the lost window; the holder killed mid-body was in ${timeline.holderRegion}`,
    first
      ? `failover seen by the first claim through the new primary ${fmt(first.endObs - timeline.killObs)} after the kill (${fmt(first.endObs - timeline.promoteObs)} after the promotion); quarantine ${LEASE_MS} ms; ${quarantined.length} claim(s) refused for it, ${skippedTicks.size} tick(s) never ran because of it`
      : 'the failover was never seen',
    `fence before the failover ${before?.fence ?? '-'}, first after ${afterFailover?.fence ?? '-'}; ${after.length} tick(s) due after the quarantine`,
    ...(allowed.size > 0 ? [`${allowed.size} lost-window tick(s) ran again after the quarantine (documented)`] : []),
  );
  const report = fleetReport(outcome, { extraViolations: extra, notes });
  return {
    ...report,
    violations: report.violations.filter(
      (v) => !(v.invariant === Invariant.TICK_TWICE && [...allowed].some((tick) => v.message.includes(tick))),
    ),
  };
}

function fmt(ms: number): string {
  return `${Math.round(ms)} ms`;
}
