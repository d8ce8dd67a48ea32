/**
 * The demo's failover act (`lease-guard demo --failover`): the database's region goes down. A
 * stand-in Aurora Global Database (two MariaDB servers in asynchronous replication, a Data API
 * endpoint and cluster ARN each); three regions run one per-tick job given both clusters, the
 * primary first. Replication stops, the primary is killed while a holder runs, the replica is
 * promoted, the tick is re-delivered at once; the timeline shows the quarantine holding every
 * claim off, then the job running again with tokens past the lost window.
 */
import Table from 'cli-table3';
import { LEASE_ENV } from '../constants.js';
import { SkipReason } from '../lease/lease-store.js';
import { fromSqlTime } from '../lease/time.js';
import { startLocalGlobalDatabase } from '../local/local-global-database.js';
import { createMysql2Executor } from '../sql/mysql2-executor.js';
import { checkHistory, Invariant } from './checker.js';
import type { ChartFrame } from './demo-html.js';
import { invocationLabel, tickLabel } from './demo-labels.js';
import { schedulerEvent } from './events.js';
import { failoverSteps } from './failover-nemesis.js';
import { createHistory, Delivery, type InvocationRecord } from './history.js';
import type { FleetJobConfig } from './messages.js';
import { runSchedule, type ScheduleItem } from './run-schedule.js';
import { createSupervisor, type RegionSpec } from './supervisor.js';

const REGIONS: readonly RegionSpec[] = [
  { name: 'us-east-1', workers: 2 },
  { name: 'eu-west-1', workers: 2 },
  { name: 'ap-southeast-2', workers: 2 },
];
const TICKS = 10;
const TICK_EVERY_MS = 1500;
const TIMEOUT_MS = 3000;
/** Fixed, so the quarantine (the longest lease, by default) is this long. */
const LEASE_MS = 3500;
const STOP_AT = 2;
const KILL_AT = 4;
const START_MS = 300;

export interface FailoverActOptions {
  readonly print: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface FailoverActResult {
  /** No two bodies at once and fencing tokens strictly increasing, across the failover. */
  readonly ok: boolean;
  /** What the demo's HTML timeline draws for the act, with the act's closing lines. */
  readonly chart: ChartFrame & { readonly notes: readonly string[] };
}

export async function runFailoverAct(options: FailoverActOptions): Promise<FailoverActResult> {
  const { print } = options;
  print('');
  print('Failover act: the database region goes down.');
  print(
    'A global database: two MariaDB servers in asynchronous replication, each behind its own Data API endpoint and cluster ARN. Three regions run one per-tick job with both clusters, the primary first.',
  );
  const job: FleetJobConfig = {
    job: 'failover-report',
    leaseMs: LEASE_MS,
    leaseMarginMs: 500,
    releaseTimeoutMs: 300,
    retry: { baseDelayMs: 20, maxDelayMs: 300, attemptTimeoutMs: 1000, reserveMs: 200 },
  };
  const db = await startLocalGlobalDatabase();
  const history = createHistory([{ job: job.job, mode: 'per-tick', register: null }]);
  const supervisor = createSupervisor({ env: db.env, regions: REGIONS, jobs: [job], history, maxWorkersPerRegion: 4 });
  let ticks: Date[] = [];
  let scheduleStart = 0;
  let steps: ReturnType<typeof failoverSteps> | undefined;
  try {
    await supervisor.start();
    ticks = await plannedTicks(db.pair.primary.url);
    steps = failoverSteps({
      db,
      supervisor,
      history,
      job: job.job,
      regions: REGIONS,
      stopAtMs: START_MS + STOP_AT * TICK_EVERY_MS - 300,
      killAtMs: START_MS + KILL_AT * TICK_EVERY_MS,
      killTick: ticks[KILL_AT] as Date,
      timeoutMs: TIMEOUT_MS,
    });
    const items: ScheduleItem[] = [...steps.items];
    ticks.forEach((tick, index) => {
      REGIONS.forEach((region, r) => {
        items.push({
          kind: 'invoke',
          atMs: START_MS + index * TICK_EVERY_MS + r * 10,
          request: {
            job: job.job,
            region: region.name,
            event: schedulerEvent(tick),
            tick,
            delivery: Delivery.SCHEDULED,
            timeoutMs: TIMEOUT_MS,
            body: { bodyMs: index === KILL_AT ? 2200 : 1000, registerDelayMs: 0 },
          },
        });
      });
    });
    const run = await runSchedule({
      supervisor,
      items,
      lambdaRetry: { delaysMs: [1000, 2000] },
      onDispatched: steps.onDispatched,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    scheduleStart = run.startObs;
    if (run.errors.length > 0) throw run.errors[0];
  } finally {
    await supervisor.stop();
    await db.stop();
  }

  const snapshot = history.snapshot();
  const timeline = steps?.timeline;
  const slotOf = (obs: number): number => Math.floor((obs - scheduleStart - START_MS) / TICK_EVERY_MS);
  const quarantined = snapshot.invocations
    .filter((record) => record.reason === SkipReason.FAILOVER_QUARANTINE)
    .sort((a, b) => a.startObs - b.startObs);
  const detected = quarantined[0];
  const events = new Map<number, string[]>();
  const note = (obs: number | undefined, text: string): void => {
    if (obs === undefined || Number.isNaN(obs)) return;
    events.set(slotOf(obs), [...(events.get(slotOf(obs)) ?? []), text]);
  };
  note(timeline?.stopObs, 'replication stopped');
  note(timeline?.killObs, 'primary killed');
  note(timeline?.promoteObs, 'replica promoted');
  note(detected?.endObs, 'failover seen:\nquarantine starts');
  note(detected ? detected.endObs + LEASE_MS : undefined, 'quarantine ends');

  const table = new Table({
    head: ['tick', ...REGIONS.map((r) => r.name), 'database'],
    style: { head: [], border: [] },
  });
  ticks.forEach((tick, index) => {
    const iso = tick.toISOString();
    const cells = REGIONS.map((region) =>
      snapshot.invocations
        .filter((record) => record.tick === iso && record.region === region.name)
        .sort((a, b) => a.startObs - b.startObs)
        .map(invocationLabel)
        .join('\n'),
    );
    table.push([`${index + 1} ${tickLabel(tick, 1000)}`, ...cells, (events.get(index) ?? []).join('\n')]);
  });
  print(table.toString());

  const check = checkHistory(snapshot);
  const broken = check.violations.filter(
    (v) => v.invariant === Invariant.OVERLAP || v.invariant === Invariant.FENCE_ORDER,
  );
  const holders = snapshot.invocations
    .filter((record): record is InvocationRecord & { bodyStartObs: number } => record.bodyStartObs !== null)
    .sort((a, b) => a.bodyStartObs - b.bodyStartObs);
  const before = holders.filter((r) => timeline && r.bodyStartObs < timeline.killObs).at(-1);
  const after = holders.find((r) => timeline && r.bodyStartObs > timeline.promoteObs);
  const skippedTicks = new Set(quarantined.map((r) => r.tick)).size;
  const notes: string[] = [];
  const say = (line: string): void => {
    notes.push(line);
    print(line);
  };
  say(
    detected && timeline
      ? `The first claim through the new primary saw the failover ${Math.round(detected.endObs - timeline.killObs)} ms after the kill; it moved the fencing token to the next epoch and held every claim off for ${LEASE_MS} ms (the longest lease: ${LEASE_MS / 1000} s here, 15 min 10 s with the defaults). ${quarantined.length} claim(s) on ${skippedTicks} tick(s) were refused as ${SkipReason.FAILOVER_QUARANTINE}.`
      : 'No claim saw the failover.',
  );
  say(
    `Fencing token before the failover #${before?.fence ?? '-'}, after it #${after?.fence ?? '-'} (${LEASE_ENV.CLUSTERS} lists both clusters; the guard moved to the promoted one by itself).`,
  );
  say(
    broken.length === 0
      ? 'Checked: no two bodies at once, fencing tokens strictly increasing across the failover: ok.'
      : `BROKEN: ${broken.map((v) => v.message).join('; ')}`,
  );
  const chart = {
    ticks,
    tickAtMs: ticks.map((_, index) => START_MS + index * TICK_EVERY_MS),
    granularityMs: 1000,
    regions: REGIONS.map((region) => ({ name: region.name, clockSkewMs: 0 })),
    jobs: [{ job: job.job, mode: 'per-tick' as const }],
    history: snapshot,
    startObs: scheduleStart,
    notes,
  };
  return { ok: detected !== undefined && broken.length === 0, chart };
}

/** Ticks the database accepts: its now, rounded up to a second, then every TICK_EVERY_MS. */
async function plannedTicks(mysqlUrl: string): Promise<Date[]> {
  const executor = createMysql2Executor({ url: mysqlUrl, connectionLimit: 1 });
  try {
    const { rows } = await executor.execute({ sql: 'SELECT UTC_TIMESTAMP(6) AS now' });
    const first = Math.ceil((fromSqlTime(rows[0]?.now) as Date).getTime() / 1000) * 1000;
    return Array.from({ length: TICKS }, (_, index) => new Date(first + index * TICK_EVERY_MS));
  } finally {
    await executor.close();
  }
}
