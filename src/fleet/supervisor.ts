/**
 * The fleet supervisor: forks the workers (Lambda execution environments, a pool per region),
 * sends them invocations over IPC, keeps the one observer clock, SIGKILLs a worker at its
 * invocation's deadline as Lambda's hard timeout does (and forks a fresh one), and can freeze
 * workers and take regions dark. Every child is killed on stop and on process exit.
 *
 * Run the local Data API server in the supervisor's process: a worker's "body ended" message is
 * then always read before the release it sends next, so observer order follows causal order.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { leaseEnv } from '../env.js';
import type { LeaseStore } from '../lease/lease-store.js';
import {
  type Delivery,
  type HistoryRecorder,
  InvocationOutcome,
  type InvocationRecord,
  observerNow,
  RegisterWrite,
} from './history.js';
import { answerStoreCall } from './ipc-store.js';
import {
  type BodyPlan,
  type FleetJobConfig,
  GIVEN_UP_EXIT_LINE,
  type HandlerAnswer,
  type InvokeMessage,
  WORKER_ENV,
  type WorkerConfig,
  type WorkerMessage,
} from './messages.js';

export interface RegionSpec {
  readonly name: string;
  /** Warm workers kept for the region; a killed one is replaced. @default 1 */
  readonly workers?: number;
  /** The region's workers run with their wall clock moved by this much. @default 0 */
  readonly clockSkewMs?: number;
}

export interface SupervisorOptions {
  /** Variables every worker gets: the Data API endpoint, ARNs, database, credentials. */
  readonly env: Readonly<Record<string, string>>;
  readonly regions: readonly RegionSpec[];
  readonly jobs: readonly FleetJobConfig[];
  readonly history: HistoryRecorder;
  /** Workers a region may run at once; concurrent duplicates need more than one. @default warm workers + 2 */
  readonly maxWorkersPerRegion?: number;
  /** A worker's cold start must finish within this. @default 30000 */
  readonly spawnTimeoutMs?: number;
  /** An invocation waits at most this long for a free worker of its region. @default 30000 */
  readonly queueTimeoutMs?: number;
  /** Notes for a human: unexpected worker deaths with their stderr. @default - none */
  readonly log?: (line: string) => void;
  /** A lease store the workers' guards use over IPC (the demo's in-memory default). @default - the Data API in `env` */
  readonly store?: LeaseStore;
}

export interface InvocationRequest {
  readonly job: string;
  readonly region: string;
  readonly event: unknown;
  /** The tick the event is for, as the checker should file it; null for lease-only events. */
  readonly tick: Date | null;
  readonly delivery: Delivery;
  /** @default 1 */
  readonly attempt?: number;
  /** Reuse the first attempt's on a Lambda retry. @default a new UUID */
  readonly requestId?: string;
  /** The invocation's timeout: the worker is SIGKILLed when it runs out. */
  readonly timeoutMs: number;
  readonly body: BodyPlan;
}

export interface Dispatched {
  readonly invocationId: string;
  readonly requestId: string;
  readonly pid: number;
  /** The fence once the body starts, or null if the invocation ends without running it. */
  readonly bodyStarted: Promise<number | null>;
  readonly done: Promise<InvocationRecord>;
}

export interface WorkerInfo {
  readonly pid: number;
  readonly region: string;
  readonly busy: boolean;
  readonly paused: boolean;
  /** The worker's wall clock minus ours, measured at its cold start. */
  readonly clockOffsetMs: number | null;
}

export interface Supervisor {
  /** Forks the warm workers and waits for their cold starts. */
  start(): Promise<void>;
  /** Sends an invocation to a free worker of the region; null when the region is dark. */
  dispatch(request: InvocationRequest): Promise<Dispatched | null>;
  /** `dispatch` and wait for the record. */
  invoke(request: InvocationRequest): Promise<InvocationRecord | null>;
  /** A dark region receives no invocations (its scheduler or its Lambda service is down). */
  setRegionDark(region: string, dark: boolean): void;
  isDark(region: string): boolean;
  /** SIGSTOP: a frozen holder (GC pause, stalled VM). Its deadline still kills it. */
  pauseWorker(pid: number): void;
  resumeWorker(pid: number): void;
  workers(): WorkerInfo[];
  /** Kills every worker and waits for them to exit. Pending invocations end as killed (`shutdown`). */
  stop(): Promise<void>;
}

interface Running {
  readonly request: InvocationRequest;
  readonly invocationId: string;
  readonly requestId: string;
  readonly sentObs: number;
  readonly timer: NodeJS.Timeout;
  startObs: number | null;
  bodyStartObs: number | null;
  bodyEndObs: number | null;
  fence: number | null;
  holder: string | null;
  claimAttempts: number | null;
  register: RegisterWrite | null;
  killedAtDeadline: boolean;
  readonly bodyStarted: (fence: number | null) => void;
  readonly done: (record: InvocationRecord) => void;
}

interface Slot {
  readonly region: RegionSpec;
  readonly child: ChildProcess;
  readonly pid: number;
  state: 'starting' | 'idle' | 'busy' | 'dead';
  paused: (() => void) | null;
  clockOffsetMs: number | null;
  running: Running | null;
  stderrTail: string;
  readonly exited: Promise<void>;
}

const STDERR_TAIL_CHARS = 4000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Where the worker entry is: beside this module, as TypeScript under tsx or compiled JavaScript;
 * or prebuilt, where LEASE_GUARD_FLEET_WORKER names a directory (tsx costs every worker about half
 * a second of CPU to start, and a test run starts dozens).
 */
export function workerEntry(): { file: string; execArgv: string[]; cwd: string | undefined; skewPreload: string } {
  const prebuilt = leaseEnv('FLEET_WORKER');
  if (prebuilt !== undefined) {
    return {
      file: join(prebuilt, 'worker.mjs'),
      execArgv: [],
      cwd: undefined,
      skewPreload: pathToFileURL(join(prebuilt, 'clock-skew.mjs')).href,
    };
  }
  const fromSource = import.meta.url.endsWith('.ts');
  const ext = fromSource ? '.ts' : '.js';
  return {
    file: fileURLToPath(new URL(`./worker${ext}`, import.meta.url)),
    // Explicit, so a parent's own loaders (vitest, tsx's CLI) are never inherited.
    execArgv: fromSource ? ['--import', 'tsx'] : [],
    // `--import tsx` resolves from the working directory: the package root.
    cwd: fromSource ? fileURLToPath(new URL('../../', import.meta.url)) : undefined,
    skewPreload: new URL(`./clock-skew${ext}`, import.meta.url).href,
  };
}

/** This process's environment without AWS settings: a worker talks to the local endpoint only. */
/** A worker's exit during an invocation: on purpose (the guard gave the body up) or a death. */
function describeExit(slot: Slot, reason: string): string {
  const where = `fleet: worker ${slot.pid} in ${slot.region.name}`;
  if (slot.stderrTail.includes(GIVEN_UP_EXIT_LINE)) {
    return `${where} exited as intended (${reason}): the guard gave its job body up mid-run and ended the environment; a fresh worker replaces it`;
  }
  const tail = slot.stderrTail.trim();
  return `${where} died (${reason})${tail ? `. ${tail}` : ''}`;
}

function inheritedEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
}

export function createSupervisor(options: SupervisorOptions): Supervisor {
  const entry = workerEntry();
  const regions = new Map(options.regions.map((region) => [region.name, region]));
  const jobs = new Map(options.jobs.map((job) => [job.job, job]));
  const pools = new Map<string, Slot[]>(options.regions.map((region) => [region.name, []]));
  const waiters = new Set<() => void>();
  const dark = new Map<string, () => void>();
  const spawning = new Set<Promise<unknown>>();
  const spawnTimeoutMs = options.spawnTimeoutMs ?? 30_000;
  const queueTimeoutMs = options.queueTimeoutMs ?? 30_000;
  const log = options.log ?? (() => undefined);
  let sequence = 0;
  let stopping = false;

  function killAllNow(): void {
    for (const slot of allSlots()) {
      if (slot.state !== 'dead') slot.child.kill('SIGKILL');
    }
  }
  process.on('exit', killAllNow);

  function allSlots(): Slot[] {
    return [...pools.values()].flat();
  }

  function wakeWaiters(): void {
    for (const wake of [...waiters]) wake();
  }

  function regionOf(name: string): RegionSpec {
    const region = regions.get(name);
    if (!region) throw new RangeError(`unknown region ${name}; the fleet has ${[...regions.keys()].join(', ')}`);
    return region;
  }

  /** Forks a worker; it joins the pool at once (counted against the limit) and is ready when this resolves. */
  function spawnWorker(region: RegionSpec): Promise<Slot> {
    const config: WorkerConfig = {
      region: region.name,
      jobs: options.jobs,
      store: options.store ? 'supervisor' : 'data-api',
    };
    const skew = region.clockSkewMs ?? 0;
    const child = fork(entry.file, [], {
      execArgv: [...entry.execArgv, ...(skew === 0 ? [] : ['--import', entry.skewPreload])],
      cwd: entry.cwd,
      env: {
        ...inheritedEnv(),
        ...options.env,
        AWS_REGION: region.name,
        // The SDK's Node 22 notice: noise in every worker, and it read as the reason a worker died.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        [WORKER_ENV.CONFIG]: JSON.stringify(config),
        [WORKER_ENV.CLOCK_SKEW_MS]: String(skew),
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    if (child.pid === undefined) {
      return Promise.reject(new Error(`could not fork a worker for ${region.name}`));
    }
    const slot: Slot = {
      region,
      child,
      pid: child.pid,
      state: 'starting',
      paused: null,
      clockOffsetMs: null,
      running: null,
      stderrTail: '',
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    pools.get(region.name)?.push(slot);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      slot.stderrTail = (slot.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    });
    child.on('message', (message: WorkerMessage) => onMessage(slot, message));
    child.once('exit', (code, signal) => onExit(slot, code, signal));
    // A send to a worker that just died fails here; its exit settles the invocation.
    child.on('error', (error) => log(`fleet: worker ${slot.pid} in ${region.name}: ${error.message}`));

    const ready = new Promise<Slot>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`a worker for ${region.name} did not start within ${spawnTimeoutMs} ms. ${slot.stderrTail}`));
      }, spawnTimeoutMs);
      const onReady = (message: WorkerMessage): void => {
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        child.off('message', onReady);
        slot.clockOffsetMs = message.clockMs - Date.now();
        resolve(slot);
      };
      child.on('message', onReady);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(`a worker for ${region.name} exited (${signal ?? code}) during its cold start. ${slot.stderrTail}`),
        );
      });
    });
    spawning.add(ready);
    ready.then(
      () => spawning.delete(ready),
      () => spawning.delete(ready),
    );
    return ready;
  }

  /** Keeps the region's warm workers at their number, in the background. */
  function replenish(region: RegionSpec): void {
    if (stopping) return;
    const alive = (pools.get(region.name) ?? []).filter((slot) => slot.state !== 'dead').length;
    for (let i = alive; i < (region.workers ?? 1); i++) {
      spawnWorker(region).then(
        (slot) => {
          if (slot.state === 'starting') slot.state = 'idle';
          wakeWaiters();
        },
        (error: unknown) => log(`fleet: could not replace a worker in ${region.name}: ${(error as Error).message}`),
      );
    }
  }

  async function acquire(region: RegionSpec): Promise<Slot> {
    const deadline = observerNow() + queueTimeoutMs;
    const limit = options.maxWorkersPerRegion ?? (region.workers ?? 1) + 2;
    for (;;) {
      if (stopping) throw new Error('the fleet is stopping');
      const pool = pools.get(region.name) ?? [];
      const idle = pool.find((slot) => slot.state === 'idle' && slot.paused === null);
      if (idle) {
        idle.state = 'busy';
        return idle;
      }
      if (pool.filter((slot) => slot.state !== 'dead').length < limit) {
        const slot = await spawnWorker(region);
        if (slot.state === 'starting') {
          slot.state = 'busy';
          return slot;
        }
        continue;
      }
      const left = deadline - observerNow();
      if (left <= 0) throw new Error(`no free worker in ${region.name} within ${queueTimeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        waiters.add(wake);
      });
    }
  }

  function finish(slot: Slot, running: Running, outcome: InvocationOutcome, reason: string | null): void {
    clearTimeout(running.timer);
    slot.running = null;
    const job = jobs.get(running.request.job);
    const bodyStarted = running.bodyStartObs !== null;
    const register =
      job?.register && bodyStarted
        ? { element: running.invocationId, write: running.register ?? RegisterWrite.UNKNOWN }
        : null;
    const record: InvocationRecord = {
      invocationId: running.invocationId,
      job: running.request.job,
      region: slot.region.name,
      tick: running.request.tick?.toISOString() ?? null,
      attempt: running.request.attempt ?? 1,
      requestId: running.requestId,
      delivery: running.request.delivery,
      pid: slot.pid,
      outcome,
      reason,
      fence: running.fence,
      holder: running.holder,
      claimAttempts: running.claimAttempts,
      startObs: running.startObs ?? running.sentObs,
      endObs: observerNow(),
      bodyStartObs: running.bodyStartObs,
      bodyEndObs: running.bodyEndObs,
      register,
    };
    options.history.recordInvocation(record);
    if (!bodyStarted) running.bodyStarted(null);
    running.done(record);
  }

  function outcomeOf(answer: HandlerAnswer): { outcome: InvocationOutcome; reason: string | null } {
    if (answer.kind === 'returned') {
      return answer.skipped
        ? { outcome: InvocationOutcome.SKIPPED, reason: answer.reason }
        : { outcome: InvocationOutcome.RAN, reason: null };
    }
    const reason = `${answer.name}: ${answer.message}`.slice(0, 300);
    return answer.name === 'LeaseUnavailableError'
      ? { outcome: InvocationOutcome.UNAVAILABLE, reason }
      : { outcome: InvocationOutcome.FAILED, reason };
  }

  function onMessage(slot: Slot, message: WorkerMessage): void {
    if (message.type === 'store-call') {
      if (!options.store) return;
      answerStoreCall(options.store, message).then((reply) => {
        if (slot.child.connected) slot.child.send(reply);
      });
      return;
    }
    const running = slot.running;
    if (message.type === 'ready' || !running || running.invocationId !== message.invocationId) return;
    const at = observerNow();
    switch (message.type) {
      case 'started':
        running.startObs = at;
        break;
      case 'decision':
        running.claimAttempts = message.attempts;
        break;
      case 'body-start':
        running.bodyStartObs = at;
        running.fence = message.fence;
        running.holder = message.holder;
        running.bodyStarted(message.fence);
        break;
      case 'body-end':
        running.bodyEndObs = at;
        running.register = message.register;
        break;
      case 'finished': {
        const { outcome, reason } = outcomeOf(message.answer);
        finish(slot, running, outcome, reason);
        slot.state = 'idle';
        wakeWaiters();
        break;
      }
    }
  }

  function onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    const wasStarting = slot.state === 'starting';
    slot.state = 'dead';
    slot.paused?.();
    slot.paused = null;
    const running = slot.running;
    if (running) {
      const reason = running.killedAtDeadline ? 'timeout' : stopping ? 'shutdown' : `exit ${signal ?? code}`;
      // What it wrote last is complete only once its streams close, after the exit.
      if (reason.startsWith('exit')) slot.child.once('close', () => log(describeExit(slot, reason)));
      finish(slot, running, InvocationOutcome.KILLED, reason);
    }
    const pool = pools.get(slot.region.name);
    if (pool) pool.splice(pool.indexOf(slot), 1);
    wakeWaiters();
    if (!wasStarting) replenish(slot.region);
  }

  async function dispatch(request: InvocationRequest): Promise<Dispatched | null> {
    const region = regionOf(request.region);
    if (!jobs.has(request.job)) throw new RangeError(`unknown job ${request.job}`);
    if (dark.has(region.name)) return null;
    const slot = await acquire(region);
    const invocationId = `i${++sequence}`;
    const requestId = request.requestId ?? randomUUID();
    let resolveBody: (fence: number | null) => void = () => undefined;
    let resolveDone: (record: InvocationRecord) => void = () => undefined;
    const bodyStarted = new Promise<number | null>((resolve) => {
      resolveBody = resolve;
    });
    const done = new Promise<InvocationRecord>((resolve) => {
      resolveDone = resolve;
    });
    const running: Running = {
      request,
      invocationId,
      requestId,
      sentObs: observerNow(),
      // Lambda's hard timeout: the environment is killed, whatever the code is doing.
      timer: setTimeout(() => {
        if (slot.running !== running) return;
        running.killedAtDeadline = true;
        slot.child.kill('SIGKILL');
      }, request.timeoutMs),
      startObs: null,
      bodyStartObs: null,
      bodyEndObs: null,
      fence: null,
      holder: null,
      claimAttempts: null,
      register: null,
      killedAtDeadline: false,
      bodyStarted: resolveBody,
      done: resolveDone,
    };
    slot.running = running;
    const message: InvokeMessage = {
      type: 'invoke',
      invocationId,
      job: request.job,
      event: request.event,
      requestId,
      timeoutMs: request.timeoutMs,
      body: request.body,
    };
    slot.child.send(message);
    return { invocationId, requestId, pid: slot.pid, bodyStarted, done };
  }

  function slotOf(pid: number): Slot {
    const slot = allSlots().find((candidate) => candidate.pid === pid && candidate.state !== 'dead');
    if (!slot) throw new RangeError(`no live worker with pid ${pid}`);
    return slot;
  }

  return {
    async start() {
      await Promise.all(
        options.regions.flatMap((region) =>
          Array.from({ length: region.workers ?? 1 }, async () => {
            const slot = await spawnWorker(region);
            if (slot.state === 'starting') slot.state = 'idle';
          }),
        ),
      );
    },
    dispatch,
    async invoke(request) {
      const dispatched = await dispatch(request);
      return dispatched ? dispatched.done : null;
    },
    setRegionDark(region, isDark) {
      regionOf(region);
      if (isDark && !dark.has(region)) dark.set(region, options.history.beginNemesis('region-dark', region));
      if (!isDark) {
        dark.get(region)?.();
        dark.delete(region);
      }
    },
    isDark: (region) => dark.has(region),
    pauseWorker(pid) {
      const slot = slotOf(pid);
      if (slot.paused) return;
      slot.child.kill('SIGSTOP');
      slot.paused = options.history.beginNemesis('pause-worker', `${slot.region.name}/${pid}`);
    },
    resumeWorker(pid) {
      const slot = slotOf(pid);
      if (!slot.paused) return;
      slot.child.kill('SIGCONT');
      slot.paused();
      slot.paused = null;
      wakeWaiters();
    },
    workers() {
      return allSlots()
        .filter((slot) => slot.state !== 'dead')
        .map((slot) => ({
          pid: slot.pid,
          region: slot.region.name,
          busy: slot.state === 'busy',
          paused: slot.paused !== null,
          clockOffsetMs: slot.clockOffsetMs,
        }));
    },
    async stop() {
      stopping = true;
      wakeWaiters();
      for (const end of dark.values()) end();
      dark.clear();
      // Workers still cold-starting are in the pools too; killing them fails their spawn promises.
      killAllNow();
      const deadline = new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref());
      await Promise.race([Promise.allSettled([...allSlots().map((slot) => slot.exited), ...spawning]), deadline]);
      process.off('exit', killAllNow);
    },
  };
}
