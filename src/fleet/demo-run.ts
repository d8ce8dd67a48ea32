/**
 * `lease-guard demo`, as a function: starts the database (throwaway, LEASE_GUARD_MYSQL_URL or the
 * given URL), the local Data API and a fleet of worker processes running real guarded handlers;
 * plays the seeded plan of deliveries and faults; checks the history; prints the timeline and
 * the invariants; writes the HTML chart. Every process is stopped on the way out, on errors and
 * on abort (Ctrl-C) too.
 */
import { randomInt } from 'node:crypto';
import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseGuardConfigError, LeaseGuardError } from '../errors.js';
import { type CheckReport, checkHistory } from './checker.js';
import { type DemoBackendOptions, startDemoBackend } from './demo-backend.js';
import { type FailoverActResult, runFailoverAct } from './demo-failover.js';
import { renderDemoHtml } from './demo-html.js';
import { signedMinutes } from './demo-labels.js';
import { createDemoProgress } from './demo-progress.js';
import {
  buildDemoPlan,
  DEMO_JOBS,
  DEMO_LIMITS,
  DEMO_TABLE,
  DemoFault,
  type DemoPlan,
  fleetJobs,
  type PlannedFault,
} from './demo-scenario.js';
import { type DemoFaultSummary, type DemoSummary, renderSummary, summarizeDemo } from './demo-summary.js';
import { type DroppedDelivery, renderTimeline } from './demo-timeline.js';
import {
  createHistory,
  Delivery,
  FORBIDDEN_DELIVERIES,
  type History,
  type HistoryRecorder,
  InvocationOutcome,
  type InvocationRecord,
  observerNow,
} from './history.js';
import { createNemeses, DataApiFault, leaseStatements, type Nemeses } from './nemeses.js';
import { RETRIED_OUTCOMES, runSchedule, type ScheduleItem } from './run-schedule.js';
import { createSupervisor, type InvocationRequest, type Supervisor } from './supervisor.js';

export interface DemoOptions {
  /** @default 12 */
  readonly ticks?: number;
  /** @default 3 */
  readonly regions?: number;
  /** Seeds the schedule of duplicates and faults. @default a random one, printed */
  readonly seed?: number;
  /** An existing database to use instead of LEASE_GUARD_MYSQL_URL or a throwaway server. */
  readonly mysqlUrl?: string;
  /**
   * `auto`: SQL where a server is found or can be installed, else the in-memory store (said in one
   * line). `memory`: the in-memory store. @default 'auto'
   */
  readonly store?: DemoBackendOptions['store'];
  /** How the SQL side starts (tests replace it to play a machine without MariaDB). @default startFleetEnvironment */
  readonly startSql?: DemoBackendOptions['startSql'];
  /** Also write the timeline as a self-contained HTML page here. */
  readonly htmlPath?: string;
  /**
   * Then run the failover act (runFailoverAct) before the HTML is written, so the page shows it
   * too; `lease-guard demo --failover --html` needs this.
   */
  readonly failover?: boolean;
  /** Aborting stops the run and cleans up; `runDemo` then rejects with DemoInterruptedError. */
  readonly signal?: AbortSignal;
  /** Where the header, progress, timeline and summary go, line by line. @default stdout */
  readonly print?: (line: string) => void;
}

export interface DemoResult {
  readonly summary: DemoSummary;
  readonly report: CheckReport;
  readonly history: History;
  readonly plan: DemoPlan;
  readonly htmlPath: string | null;
  /** The failover act's result, when `failover` was asked for. */
  readonly failover: FailoverActResult | null;
}

/** The run was aborted (Ctrl-C); everything it started has been stopped. */
export class DemoInterruptedError extends LeaseGuardError {
  constructor() {
    super('the demo was interrupted; every process it started has been stopped');
    this.name = 'DemoInterruptedError';
  }
}

const WARM_WORKERS_PER_REGION = 2;
const MAX_WORKERS_PER_REGION = 4;
/** The tick's claims come within this; a fault no claim hit is withdrawn. */
const LOST_RESPONSE_WAIT_MS = 3000;

function checkRange(value: number, name: string, limits: { min: number; max: number }): number {
  if (!Number.isInteger(value) || value < limits.min || value > limits.max) {
    throw new LeaseGuardConfigError(
      `${name} must be an integer from ${limits.min} to ${limits.max}, got ${String(value)}.`,
    );
  }
  return value;
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const ticks = checkRange(options.ticks ?? DEMO_LIMITS.ticks.default, '--ticks', DEMO_LIMITS.ticks);
  const regionCount = checkRange(options.regions ?? DEMO_LIMITS.regions.default, '--regions', DEMO_LIMITS.regions);
  const seed = checkRange(options.seed ?? randomInt(0, 0xffff_ffff), '--seed', { min: 0, max: 0xffff_ffff });
  const { signal } = options;
  if (options.htmlPath) checkHtmlFolder(options.htmlPath);
  const began = observerNow();

  print(`lease-guard demo: seed ${seed} (the same seed replays the same schedule of duplicates and faults)`);
  const backend = await startDemoBackend({
    mysqlUrl: options.mysqlUrl,
    ...(options.store ? { store: options.store } : {}),
    ...(options.startSql ? { startSql: options.startSql } : {}),
  });
  let backendStopped = false;
  const stopBackend = async (): Promise<void> => {
    if (backendStopped) return;
    backendStopped = true;
    await backend.stop();
  };
  try {
    const { database } = backend;
    print(backend.description);
    await backend.reset();
    const planned = buildDemoPlan({ ticks, regions: regionCount, seed }, await backend.databaseNow());
    // Without SQL there is no register table to fence.
    const plan: DemoPlan =
      database === 'memory' ? { ...planned, jobs: planned.jobs.map((job) => ({ ...job, register: null })) } : planned;
    const history = createHistory(fleetJobs(plan.jobs));
    const supervisor = createSupervisor({
      env: backend.workerEnv,
      ...(backend.store ? { store: backend.store } : {}),
      regions: plan.regions.map((region) => ({
        name: region.name,
        workers: WARM_WORKERS_PER_REGION,
        clockSkewMs: region.clockSkewMs,
      })),
      jobs: plan.jobs,
      history,
      maxWorkersPerRegion: MAX_WORKERS_PER_REGION,
      log: (line) => print(`  ${line}`),
    });
    const nemeses = createNemeses({
      history,
      supervisor,
      database: backend.throwaway,
      ...(backend.dataApi ? { dataApi: backend.dataApi } : {}),
    });
    const skews = plan.regions
      .filter((region) => region.clockSkewMs !== 0)
      .map((region) => history.beginNemesis('clock-skew', region.name, signedMinutes(region.clockSkewMs)));
    const faults: DemoFaultSummary[] = [];
    const dropped: DroppedDelivery[] = [];
    const dark = { region: null as string | null };
    let startObs = observerNow();
    try {
      print(
        `fleet: ${plan.regions.length} regions x ${WARM_WORKERS_PER_REGION} worker processes, starting (cold starts)...`,
      );
      await supervisor.start();
      const clocks = plan.regions.map((region) => {
        const offsets = supervisor
          .workers()
          .filter((worker) => worker.region === region.name)
          .map((worker) => worker.clockOffsetMs ?? 0);
        const measured = offsets.length > 0 ? Math.round(Math.max(...offsets.map(Math.abs))) : 0;
        return region.clockSkewMs === 0
          ? region.name
          : `${region.name} (invoker clock ${signedMinutes(region.clockSkewMs)}, measured ${Math.round(measured / 1000)} s off)`;
      });
      print(`regions: ${clocks.join(', ')}`);
      print(
        `jobs: ${DEMO_JOBS.REPORT} per tick${database === 'memory' ? '' : ' (fenced register)'}, ${DEMO_JOBS.SYNC} affinity; ${plan.ticks.length} ticks one ${plan.granularityMs >= 60_000 ? 'minute' : 'second'} apart, delivered about a second apart`,
      );
      const progress = createDemoProgress(plan, history, print);
      // The holder the plan gives up needs the lease free when its tick comes: on a loaded machine
      // the previous tick's run can still hold it, so that tick's copies wait for it to be over
      // (a condition, not a longer gap).
      const givenUpTick = plan.faults.find((fault) => fault.kind === DemoFault.KILL_HOLDER)?.tickIndex;
      const ended = new Map<InvocationRequest, () => void>();
      const beforeGivenUp: Promise<void>[] = [];
      const invokes = plan.deliveries.map((delivery): ScheduleItem & { kind: 'invoke' } => {
        const request: InvocationRequest = {
          job: delivery.job,
          region: delivery.region,
          event: delivery.event,
          tick: delivery.tick,
          delivery: delivery.delivery,
          timeoutMs: plan.timeoutMs,
          body: delivery.body,
        };
        const previousTick = givenUpTick !== undefined && delivery.tickIndex === givenUpTick - 1;
        if (previousTick && delivery.job === DEMO_JOBS.REPORT && delivery.delivery !== Delivery.LATE) {
          beforeGivenUp.push(new Promise((resolve) => ended.set(request, resolve)));
        }
        return { kind: 'invoke', atMs: delivery.atMs, request };
      });
      // Lambda's retry of the given-up tick must find the lease free too, not the next tick's run:
      // the next tick waits until that tick ran or its retries are over.
      const retriedTick = givenUpTick === undefined ? undefined : plan.ticks[givenUpTick]?.toISOString();
      let firstAttemptsLeft = plan.deliveries.filter(
        (delivery) =>
          delivery.tickIndex === givenUpTick &&
          delivery.job === DEMO_JOBS.REPORT &&
          delivery.delivery !== Delivery.LATE,
      ).length;
      let retriesPending = 0;
      let givenUpTickOver: () => void = () => undefined;
      const givenUpTickDone = new Promise<void>((resolve) => {
        givenUpTickOver = resolve;
      });
      const watchGivenUpTick = (request: InvocationRequest, record: InvocationRecord | null): void => {
        const attempt = request.attempt ?? 1;
        if (request.job !== DEMO_JOBS.REPORT || request.tick?.toISOString() !== retriedTick) return;
        if (request.delivery === Delivery.LATE) return;
        if (attempt === 1) firstAttemptsLeft--;
        else retriesPending--;
        // A dropped delivery (a dark region) has no record and no retry.
        if (record && RETRIED_OUTCOMES.has(record.outcome) && attempt <= plan.retryDelaysMs.length) retriesPending++;
        if (record?.outcome === InvocationOutcome.RAN || (firstAttemptsLeft <= 0 && retriesPending <= 0)) {
          givenUpTickOver();
        }
      };
      const nextAtMs = Math.min(
        ...plan.deliveries
          .filter((delivery) => givenUpTick !== undefined && delivery.tickIndex === givenUpTick + 1)
          .map((delivery) => delivery.atMs),
      );
      const givenUpAtMs = Math.min(
        ...plan.deliveries.filter((delivery) => delivery.tickIndex === givenUpTick).map((delivery) => delivery.atMs),
      );
      const items: ScheduleItem[] = [
        ...(givenUpTick === undefined
          ? []
          : [
              { kind: 'wait' as const, atMs: givenUpAtMs, until: () => Promise.all(beforeGivenUp) },
              ...(Number.isFinite(nextAtMs)
                ? [{ kind: 'wait' as const, atMs: nextAtMs, until: () => givenUpTickDone }]
                : []),
            ]),
        ...invokes,
        ...plan.faults.map(
          (fault): ScheduleItem => ({
            kind: 'step',
            atMs: fault.atMs,
            run: () =>
              applyFault(fault, {
                plan,
                supervisor,
                nemeses,
                history,
                faults,
                dark,
                dataApi: backend.dataApi !== null,
                print: progress.fault,
              }),
          }),
        ),
      ];
      startObs = observerNow();
      const run = await runSchedule({
        supervisor,
        items,
        lambdaRetry: { delaysMs: plan.retryDelaysMs, body: () => plan.retryBody },
        settleTimeoutMs: 30_000,
        ...(signal ? { signal } : {}),
        onRecord: (record, request) => {
          watchGivenUpTick(request, record);
          progress.onRecord(record);
        },
        onEnded: (request) => ended.get(request)?.(),
        onDropped: (request) => {
          watchGivenUpTick(request, null);
          const drop = { job: request.job, region: request.region, tick: request.tick?.toISOString() ?? '' };
          dropped.push(drop);
          progress.onDropped(drop, request.delivery, request.attempt ?? 1);
        },
      });
      if (signal?.aborted) throw new DemoInterruptedError();
      if (run.errors.length > 0) {
        // Say what went away, when something did: the database server, or the workers it left.
        const server = backend.throwaway;
        const serverGone =
          server?.exitStatus === undefined
            ? ''
            : ` The database server (pid ${server.pid}) is not running: it ${server.exitStatus}; its log is ${server.dataDir}/error.log.`;
        throw new LeaseGuardError(
          `the demo could not run its schedule: ${errorText(run.errors[0])}${run.errors.length > 1 ? ` (and ${run.errors.length - 1} more)` : ''}.${serverGone}`,
          { cause: run.errors[0] },
        );
      }
      const register = await backend.readRegister();
      if (register) history.recordRegister(DEMO_JOBS.REPORT, register);
    } finally {
      nemeses.heal();
      for (const end of skews) end();
      await supervisor.stop();
    }

    const snapshot = history.snapshot();
    const report = checkHistory(snapshot);
    const summary = summarizeDemo(report, {
      seed,
      tickCount: plan.ticks.length,
      granularityMs: plan.granularityMs,
      regions: plan.regions.map((region) => region.name),
      database,
      durationMs: observerNow() - began,
      forbiddenDeliveries: snapshot.invocations.filter((record) => FORBIDDEN_DELIVERIES.has(record.delivery)).length,
      faults,
    });
    print('');
    print(renderTimeline({ plan, history: snapshot, dropped, faults }));
    print('');
    print(renderSummary(summary));
    // The act starts servers of its own: this run's go first.
    await stopBackend();
    const failover =
      options.failover && !signal?.aborted ? await runFailoverAct({ print, ...(signal ? { signal } : {}) }) : null;
    let htmlPath: string | null = null;
    if (options.htmlPath) {
      const html = renderDemoHtml({
        plan,
        history: snapshot,
        summary,
        startObs,
        ...(failover ? { failover: failover.chart } : {}),
      });
      await writeFile(options.htmlPath, html, 'utf8');
      htmlPath = options.htmlPath;
      print(`timeline chart: ${htmlPath}`);
    }
    return { summary, report, history: snapshot, plan, htmlPath, failover };
  } finally {
    await stopBackend();
  }
}

interface FaultContext {
  readonly plan: DemoPlan;
  readonly supervisor: Supervisor;
  readonly nemeses: Nemeses;
  readonly history: HistoryRecorder;
  readonly faults: DemoFaultSummary[];
  /** The region taken dark, until it is back. */
  readonly dark: { region: string | null };
  /** Whether the Data API (and SQL behind it) is there to fault. */
  readonly dataApi: boolean;
  readonly print: (text: string) => void;
}

/** Puts one planned fault in force (bounded in time) and notes what it did. */
async function applyFault(fault: PlannedFault, context: FaultContext): Promise<void> {
  const { plan, supervisor, nemeses, history } = context;
  const tick = (plan.ticks[fault.tickIndex] as Date).toISOString();
  const note = (applied: boolean, detail: string): void => {
    context.faults.push({ kind: fault.kind, tick, applied, detail });
    context.print(`tick ${fault.tickIndex + 1}: ${detail}`);
  };
  const claim = leaseStatements(DEMO_TABLE).claim;
  switch (fault.kind) {
    case DemoFault.CLOCK_SKEW:
    case DemoFault.KILL_HOLDER:
      // Planned into the workers (skewed clock) and the bodies (too long for the timeout).
      note(true, fault.label);
      return;
    case DemoFault.LOST_RESPONSE: {
      if (!context.dataApi) {
        note(false, `${fault.label}: skipped, it needs the local Data API (the demo runs on the in-memory store)`);
        return;
      }
      const lost = nemeses.dataApiFault(DataApiFault.LOST_RESPONSE, { match: claim, count: 1 }, 'claims');
      const waited = new AbortController();
      const hit = await Promise.race([
        lost.waitForHits(1).then(() => true),
        sleep(LOST_RESPONSE_WAIT_MS, false, { signal: waited.signal }).catch(() => false),
      ]);
      waited.abort();
      if (!hit) lost.remove();
      note(hit, hit ? `${fault.label}, and the claim is re-sent` : `${fault.label}: no claim came`);
      return;
    }
    case DemoFault.RESUMING:
      if (!context.dataApi) {
        note(false, `${fault.label}: skipped, it needs the local Data API (the demo runs on the in-memory store)`);
        return;
      }
      nemeses.dataApiFault(DataApiFault.RESUMING, { match: claim, forMs: fault.durationMs ?? 0 }, 'claims');
      note(true, fault.label);
      return;
    case DemoFault.PAUSE_DATABASE:
      if (!nemeses.canHitDatabase) {
        note(
          false,
          `${fault.label}: skipped, it needs the throwaway database (${context.dataApi ? 'not an external one' : 'the demo runs on the in-memory store'})`,
        );
        return;
      }
      note(true, fault.label);
      await nemeses.pauseDatabase(fault.durationMs ?? 0);
      return;
    case DemoFault.OWNER_DARK: {
      const owner = [...history.snapshot().invocations]
        .reverse()
        .find((record) => record.job === DEMO_JOBS.SYNC && record.outcome === InvocationOutcome.RAN)?.region;
      const region = owner ?? (plan.regions[0]?.name as string);
      context.dark.region = region;
      supervisor.setRegionDark(region, true);
      note(true, `${DEMO_JOBS.SYNC}'s owner ${region} goes dark: it receives no invocations`);
      return;
    }
    case DemoFault.OWNER_BACK: {
      const region = context.dark.region;
      if (region === null) return;
      supervisor.setRegionDark(region, false);
      context.dark.region = null;
      note(true, `${region} is back, now as a standby`);
      return;
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Before the demo runs, not after: the chart's folder must exist (the demo does not create it). */
function checkHtmlFolder(htmlPath: string): void {
  const folder = dirname(resolve(htmlPath));
  const stat = statSync(folder, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) {
    throw new LeaseGuardConfigError(
      `--html ${htmlPath}: the folder ${folder} ${stat ? 'is not a directory' : 'does not exist'}; create it or choose another path (nothing was run).`,
    );
  }
}
