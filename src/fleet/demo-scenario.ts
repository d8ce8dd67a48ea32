/**
 * The demo's plan, a pure function of its options, the seed and the database's clock: which
 * ticks, which deliveries reach which region when (duplicates, late, replayed, stale and forged
 * ones among them), and which faults strike at which tick. The schedule is compressed: each tick
 * is a distinct recent minute (or second) the database accepts, delivered about a second apart.
 */
import type { ScheduledRuleEvent, SchedulerEvent } from './events.js';
import { replayedEvent, scheduledRuleEvent, schedulerEvent } from './events.js';
import { Delivery, type FleetJob, RegisterVariant } from './history.js';
import type { BodyPlan, FleetJobConfig } from './messages.js';
import { createRandom } from './random.js';

export const DEMO_JOBS = {
  /** Per tick: one report per tick, whoever delivers it; its body appends to the fenced register. */
  REPORT: 'demo-report',
  /** Affinity: the owner region keeps it; a standby takes over when the owner goes dark. */
  SYNC: 'demo-sync',
} as const;

/** The demo's own lease table, so a reused database's real leases are never touched. */
export const DEMO_TABLE = 'lease_guard_demo';

export const DEMO_REGIONS = [
  'us-east-1',
  'eu-west-1',
  'ap-southeast-2',
  'us-west-2',
  'eu-central-1',
  'ap-northeast-1',
  'sa-east-1',
  'ca-central-1',
] as const;

export const DEMO_LIMITS = {
  ticks: { min: 8, max: 200, default: 12 },
  regions: { min: 2, max: DEMO_REGIONS.length, default: 3 },
} as const;

export const DemoFault = {
  KILL_HOLDER: 'kill-holder',
  LOST_RESPONSE: 'lost-response',
  PAUSE_DATABASE: 'pause-database',
  RESUMING: 'resuming',
  CLOCK_SKEW: 'clock-skew',
  OWNER_DARK: 'owner-dark',
  OWNER_BACK: 'owner-back',
} as const;
export type DemoFault = (typeof DemoFault)[keyof typeof DemoFault];

const SECOND = 1000;
const MINUTE = 60 * SECOND;
/** Above this many ticks, minutes would reach past `maxTickAge` (1 h): use seconds. */
const MAX_MINUTE_TICKS = 50;
const FIRST_TICK_AT_MS = 300;
const TICK_EVERY_MS = 1100;
const JITTER_MS = 150;
const TIMEOUT_MS = 2000;
const LEASE_MARGIN_MS = 300;
/**
 * Lambda's retries (about 1 and 2 minutes, compressed). The overlong body is given up by the guard
 * `releaseTimeoutMs` + 250 ms before its deadline (1.25 s in), which ends the worker; the lease is
 * kept to its end (timeout + margin, 2.3 s). The first retry comes after that, so it runs the tick.
 */
const RETRY_DELAYS_MS = [1800, 2400] as const;
const RETRY_BODY_MS = 150;
const KILLED_BODY_MS = 3500;
/** After the kill tick: the deadline, the retry's wait and its run, before the next tick. */
const KILL_GAP_MS = 2400;
const PAUSE_MS = 1000;
const PAUSE_GAP_MS = 1300;
/**
 * A standby takes over once the owner has not claimed for this long: longer than the longest
 * gap between ticks (after the kill), so only the owner going dark causes a failover.
 */
const FAILOVER_AFTER_MS = TICK_EVERY_MS + KILL_GAP_MS + 500;
const RESUMING_MS = 600;
/** After the resuming tick: its claims retry with backoff past the fault, so its runs end late. */
const RESUMING_GAP_MS = 700;
/** When the last tick's late duplicates come, after its own deliveries. */
const LAST_TICK_LATE_MS = 1500;
/** Faults go in just before their tick's deliveries. */
const FAULT_LEAD_MS = 30;
/** The owner goes dark this many ticks before the end, and is back for the last tick if the failover had time. */
const DARK_TICKS = 6;

export interface DemoPlanOptions {
  readonly ticks: number;
  readonly regions: number;
  readonly seed: number;
}

export interface DemoRegion {
  readonly name: string;
  readonly clockSkewMs: number;
  /** How the region's schedule invokes: EventBridge Scheduler input, or a scheduled rule's event. */
  readonly events: 'scheduler' | 'rule';
}

export interface PlannedDelivery {
  readonly atMs: number;
  readonly job: string;
  readonly region: string;
  /** The tick's index in the plan, or null for a stale or forged tick outside it. */
  readonly tickIndex: number | null;
  readonly tick: Date;
  readonly delivery: Delivery;
  readonly event: SchedulerEvent | ScheduledRuleEvent;
  readonly body: BodyPlan;
}

export interface PlannedFault {
  readonly kind: DemoFault;
  readonly tickIndex: number;
  readonly atMs: number;
  readonly durationMs: number | null;
  readonly label: string;
}

export interface DemoPlan {
  readonly seed: number;
  readonly granularityMs: number;
  readonly ticks: readonly Date[];
  /** When each tick is delivered, from the schedule's start. */
  readonly tickAtMs: readonly number[];
  readonly regions: readonly DemoRegion[];
  readonly jobs: readonly FleetJobConfig[];
  readonly deliveries: readonly PlannedDelivery[];
  readonly faults: readonly PlannedFault[];
  readonly timeoutMs: number;
  readonly retryDelaysMs: readonly number[];
  /** The body a Lambda retry runs (a retry of the killed holder must not be killed again). */
  readonly retryBody: BodyPlan;
}

export function demoJobs(granularityMs: number): FleetJobConfig[] {
  const common = {
    tickGranularityMs: granularityMs,
    leaseMarginMs: LEASE_MARGIN_MS,
    // 0.75 s before the deadline: a retry's claim and body have 1.25 s, on a loaded machine too.
    releaseTimeoutMs: 500,
    // Short backoff, and attempts that outlast the database pause.
    retry: { baseDelayMs: 50, maxDelayMs: 400, attemptTimeoutMs: 1500, reserveMs: 300 },
  };
  return [
    { job: DEMO_JOBS.REPORT, mode: 'per-tick', register: RegisterVariant.FENCED, ...common },
    { job: DEMO_JOBS.SYNC, mode: 'affinity', failoverAfterMs: FAILOVER_AFTER_MS, ...common },
  ];
}

/** The checker's view of the jobs. */
export function fleetJobs(configs: readonly FleetJobConfig[]): FleetJob[] {
  return configs.map((config) => ({
    job: config.job,
    mode: config.mode ?? 'per-tick',
    register: config.register ?? null,
  }));
}

export function buildDemoPlan(options: DemoPlanOptions, databaseNow: Date): DemoPlan {
  const { ticks: count } = options;
  const random = createRandom(options.seed);
  const granularityMs = count <= MAX_MINUTE_TICKS ? MINUTE : SECOND;
  const latest = Math.floor(databaseNow.getTime() / granularityMs) * granularityMs;
  const ticks = Array.from({ length: count }, (_, k) => new Date(latest - (count - 1 - k) * granularityMs));

  const skewMinutes = random.int(5, 9) * (random.chance(0.5) ? 1 : -1);
  const regions: DemoRegion[] = DEMO_REGIONS.slice(0, options.regions).map((name, index) => ({
    name,
    clockSkewMs: index === 1 ? skewMinutes * MINUTE : 0,
    events: index % 2 === 0 ? 'scheduler' : 'rule',
  }));

  const kill = 1 + random.int(0, 1);
  const lost = kill + 2;
  const pause = kill + 3;
  const resuming = kill + 4;
  const dark = Math.max(kill + 2, count - DARK_TICKS);
  const back = count - 1 - dark >= DARK_TICKS - 1 ? count - 1 : null;

  const tickAtMs: number[] = [];
  for (let k = 0, at = FIRST_TICK_AT_MS; k < count; k++) {
    tickAtMs.push(at);
    const gap = k === kill ? KILL_GAP_MS : k === pause ? PAUSE_GAP_MS : k === resuming ? RESUMING_GAP_MS : 0;
    at += TICK_EVERY_MS + gap;
  }
  const at = (k: number): number => tickAtMs[k] as number;

  const faults: PlannedFault[] = [
    {
      kind: DemoFault.CLOCK_SKEW,
      tickIndex: 0,
      atMs: 0,
      durationMs: null,
      label: `${regions[1]?.name}'s invoker clock is ${skewMinutes > 0 ? '+' : ''}${skewMinutes} min off`,
    },
    {
      kind: DemoFault.KILL_HOLDER,
      tickIndex: kill,
      atMs: at(kill),
      durationMs: null,
      label: `${DEMO_JOBS.REPORT}'s body outlives the ${TIMEOUT_MS / SECOND} s timeout: the guard gives it up before the deadline, keeps its lease to the end and ends the worker`,
    },
    {
      kind: DemoFault.LOST_RESPONSE,
      tickIndex: lost,
      atMs: at(lost) - FAULT_LEAD_MS,
      durationMs: null,
      label: 'the answer to a claim is lost after it committed',
    },
    {
      kind: DemoFault.PAUSE_DATABASE,
      tickIndex: pause,
      atMs: at(pause) - FAULT_LEAD_MS,
      durationMs: PAUSE_MS,
      label: `the database is paused (SIGSTOP) for ${PAUSE_MS / SECOND} s`,
    },
    {
      kind: DemoFault.RESUMING,
      tickIndex: resuming,
      atMs: at(resuming) - FAULT_LEAD_MS,
      durationMs: RESUMING_MS,
      label: `Aurora is resuming (DatabaseResumingException) for ${RESUMING_MS / SECOND} s`,
    },
    {
      kind: DemoFault.OWNER_DARK,
      tickIndex: dark,
      atMs: at(dark) - FAULT_LEAD_MS,
      durationMs: null,
      label: `${DEMO_JOBS.SYNC}'s owner region goes dark`,
    },
    ...(back === null
      ? []
      : [
          {
            kind: DemoFault.OWNER_BACK,
            tickIndex: back,
            atMs: at(back) - FAULT_LEAD_MS,
            durationMs: null,
            label: 'the old owner region is back',
          },
        ]),
  ];

  const deliveries: PlannedDelivery[] = [];
  const eventFor = (region: DemoRegion, tick: Date) =>
    region.events === 'scheduler'
      ? schedulerEvent(tick)
      : scheduledRuleEvent(tick, region.name, random.int(1, 9) * (granularityMs / 10));
  const reportBody = (k: number | null): BodyPlan => ({
    bodyMs: k === kill ? KILLED_BODY_MS : random.int(150, 350),
    registerDelayMs: random.int(10, 60),
  });
  const syncBody = (): BodyPlan => ({ bodyMs: random.int(80, 160), registerDelayMs: 0 });
  const deliver = (
    job: string,
    region: DemoRegion,
    atMs: number,
    tickIndex: number | null,
    tick: Date,
    delivery: Delivery,
    event = eventFor(region, tick),
  ): void => {
    const body = job === DEMO_JOBS.REPORT ? reportBody(tickIndex) : syncBody();
    deliveries.push({ atMs, job, region: region.name, tickIndex, tick, delivery, event, body });
  };

  ticks.forEach((tick, k) => {
    for (const region of regions) {
      deliver(DEMO_JOBS.REPORT, region, at(k) + random.int(0, JITTER_MS), k, tick, Delivery.SCHEDULED);
      deliver(DEMO_JOBS.SYNC, region, at(k) + random.int(0, JITTER_MS), k, tick, Delivery.SCHEDULED);
    }
    if (k === kill) return;
    if (random.chance(0.35)) {
      deliver(DEMO_JOBS.REPORT, random.pick(regions), at(k) + random.int(0, JITTER_MS), k, tick, Delivery.DUPLICATE);
    }
    if (k + 2 < count && k + 2 !== kill && random.chance(0.3)) {
      deliver(DEMO_JOBS.REPORT, random.pick(regions), at(k + 2) + random.int(200, 600), k, tick, Delivery.LATE);
    }
  });

  // The last tick has no next one to supersede it: late duplicates of it reach every region, as
  // EventBridge's do, so a last tick whose deliveries all met a still-running holder runs anyway.
  for (const region of regions) {
    for (const job of [DEMO_JOBS.REPORT, DEMO_JOBS.SYNC]) {
      const last = count - 1;
      deliver(
        job,
        region,
        at(last) + LAST_TICK_LATE_MS + random.int(0, JITTER_MS),
        last,
        ticks[last] as Date,
        Delivery.LATE,
      );
    }
  }

  // Events that must never run: two archive replays, a tick older than maxTickAge, a forged future one.
  const mid = (): number => at(random.int(1, count - 2)) + random.int(400, 800);
  for (let i = 0; i < 2; i++) {
    const k = random.int(0, count - 2);
    const region = random.pick(regions);
    const tick = ticks[k] as Date;
    const event = replayedEvent(scheduledRuleEvent(tick, region.name, random.int(1, 9) * (granularityMs / 10)));
    deliver(DEMO_JOBS.REPORT, region, at(k + 1) + random.int(400, 800), k, tick, Delivery.REPLAY, event);
  }
  const stale = new Date(latest - 2 * 60 * MINUTE);
  deliver(DEMO_JOBS.REPORT, random.pick(regions), mid(), null, stale, Delivery.STALE);
  const forged = new Date(latest + 24 * 60 * MINUTE);
  deliver(DEMO_JOBS.REPORT, random.pick(regions), mid(), null, forged, Delivery.FORGED);

  return {
    seed: options.seed,
    granularityMs,
    ticks,
    tickAtMs,
    regions,
    jobs: demoJobs(granularityMs),
    deliveries: deliveries.sort((a, b) => a.atMs - b.atMs),
    faults,
    timeoutMs: TIMEOUT_MS,
    retryDelaysMs: RETRY_DELAYS_MS,
    retryBody: { bodyMs: RETRY_BODY_MS, registerDelayMs: 30 },
  };
}
