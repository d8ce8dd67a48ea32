/**
 * The regional-failover nemesis over a local global database (local-global-database.ts), as
 * schedule steps: replication stops (what the primary writes from then on is the lost window),
 * the primary is killed while a holder runs its body, the replica is promoted, and the tick
 * being run is delivered again from the other regions at once, as at-least-once delivery can.
 * The fault suite's `global-failover` scenario and the demo's failover act both use it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalGlobalDatabase } from '../local/local-global-database.js';
import { schedulerEvent } from './events.js';
import { Delivery, type HistoryRecorder, observerNow } from './history.js';
import type { ScheduleItem } from './run-schedule.js';
import type { Dispatched, InvocationRequest, RegionSpec, Supervisor } from './supervisor.js';

/** When each step happened, on the observer clock; NaN until it has. */
export interface FailoverTimeline {
  stopObs: number;
  killObs: number;
  promoteObs: number;
  /** The region whose holder was running when the primary was killed. */
  holderRegion: string | null;
  /** The tick it was running (ISO). */
  killTick: string | null;
}

export interface FailoverStepsOptions {
  readonly db: LocalGlobalDatabase;
  readonly supervisor: Supervisor;
  readonly history: HistoryRecorder;
  readonly job: string;
  readonly regions: readonly RegionSpec[];
  /** Replication stops at this offset (ms into the schedule). */
  readonly stopAtMs: number;
  /** At this offset the step waits for a holder of `killTick` to be running, then kills the primary. */
  readonly killAtMs: number;
  readonly killTick: Date;
  /** Promotion, compressed (Aurora's takes about a minute). @default 300 */
  readonly promoteAfterMs?: number;
  readonly timeoutMs: number;
  /** The body of the re-delivered tick. @default 1000 ms */
  readonly redeliveredBodyMs?: number;
}

export interface FailoverSteps {
  readonly items: readonly ScheduleItem[];
  readonly timeline: FailoverTimeline;
  /** Pass to runSchedule: it tracks which bodies are running, so the kill can catch one. */
  readonly onDispatched: (dispatched: Dispatched, request: InvocationRequest) => void;
}

export function failoverSteps(options: FailoverStepsOptions): FailoverSteps {
  const { db, supervisor, history } = options;
  const timeline: FailoverTimeline = {
    stopObs: Number.NaN,
    killObs: Number.NaN,
    promoteObs: Number.NaN,
    holderRegion: null,
    killTick: null,
  };
  const running = new Map<string, { region: string; tick: string | null }>();
  const killTick = options.killTick.toISOString();

  const items: ScheduleItem[] = [
    {
      kind: 'step',
      atMs: options.stopAtMs,
      run: async () => {
        await db.pair.stopReplication();
        timeline.stopObs = observerNow();
        history.beginNemesis('replication-stopped', 'secondary', 'writes from now on stay on the primary');
      },
    },
    {
      kind: 'step',
      atMs: options.killAtMs,
      run: async () => {
        // A bounded wait for a holder of the tick to be inside its body.
        const deadline = observerNow() + 5000;
        let holder: { region: string } | undefined;
        while (!holder && observerNow() < deadline) {
          holder = [...running.values()].find((body) => body.tick === killTick);
          if (!holder) await sleep(10);
        }
        if (!holder) throw new Error(`no holder of tick ${killTick} was running when the primary was to be killed`);
        timeline.holderRegion = holder.region;
        timeline.killTick = killTick;
        await db.pair.primary.kill();
        timeline.killObs = observerNow();
        history.beginNemesis('primary-killed', 'primary', 'SIGKILL while a holder runs');
        await sleep(options.promoteAfterMs ?? 300);
        await db.pair.promoteReplica();
        timeline.promoteObs = observerNow();
        history.beginNemesis('replica-promoted', 'secondary', 'replication stopped, read-only off');
        const done: Promise<unknown>[] = [];
        for (const region of options.regions.filter((r) => r.name !== holder?.region)) {
          const dispatched = await supervisor.dispatch({
            job: options.job,
            region: region.name,
            event: schedulerEvent(options.killTick),
            tick: options.killTick,
            delivery: Delivery.DUPLICATE,
            timeoutMs: options.timeoutMs,
            body: { bodyMs: options.redeliveredBodyMs ?? 1000, registerDelayMs: 0 },
          });
          if (dispatched) done.push(dispatched.done);
        }
        await Promise.all(done);
      },
    },
  ];

  return {
    items,
    timeline,
    onDispatched(dispatched, request) {
      const forget = () => running.delete(dispatched.invocationId);
      void dispatched.bodyStarted.then((fence) => {
        if (fence !== null) {
          running.set(dispatched.invocationId, { region: request.region, tick: request.tick?.toISOString() ?? null });
        }
      });
      void dispatched.done.then(forget, forget);
    },
  };
}
