import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/fleet/checker.js';
import { type FleetEnvironment, startFleetEnvironment } from '../../src/fleet/environment.js';
import { scheduledRuleEvent, schedulerEvent } from '../../src/fleet/events.js';
import { createHistory, Delivery, InvocationOutcome, RegisterVariant } from '../../src/fleet/history.js';
import type { FleetJobConfig } from '../../src/fleet/messages.js';
import { createNemeses, DataApiFault, leaseStatements } from '../../src/fleet/nemeses.js';
import { readRegister, resetRegister } from '../../src/fleet/register.js';
import { runSchedule, type ScheduleItem } from '../../src/fleet/run-schedule.js';
import { createSupervisor } from '../../src/fleet/supervisor.js';
import { freshDatabase } from '../support/database.js';

const JOB: FleetJobConfig = {
  job: 'fleet-it',
  register: RegisterVariant.FENCED,
  leaseMarginMs: 500,
  retry: { baseDelayMs: 20, maxDelayMs: 200, attemptTimeoutMs: 1_500, reserveMs: 200 },
};
const REGIONS = ['us-east-1', 'eu-west-1'] as const;
const BODY = { bodyMs: 150, registerDelayMs: 40 };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('fleet harness: worker processes, local Data API, history checker', () => {
  let environment: FleetEnvironment;

  beforeAll(async () => {
    environment = await startFleetEnvironment({ mysqlUrl: await freshDatabase('fleet') });
    await resetRegister(environment.executor, JOB.job);
  });
  afterAll(() => environment.stop());

  it('runs each of 3 ticks once across 2 regions, through a duplicate and a lost response', async () => {
    const history = createHistory([{ job: JOB.job, mode: 'per-tick', register: RegisterVariant.FENCED }]);
    const supervisor = createSupervisor({
      env: environment.workerEnv,
      regions: REGIONS.map((name) => ({ name })),
      jobs: [JOB],
      history,
    });
    const nemeses = createNemeses({ history, supervisor, dataApi: environment.dataApi });
    let pids: number[] = [];
    let lostResponse: ReturnType<typeof nemeses.dataApiFault> | undefined;
    try {
      await supervisor.start();
      pids = supervisor.workers().map((worker) => worker.pid);
      const now = await environment.databaseNow();
      const minute = Math.floor(now.getTime() / 60_000) * 60_000;
      const ticks = [2, 1, 0].map((back) => new Date(minute - back * 60_000));
      // One tick after another, each once the previous one's invocations have ended: the counts
      // below then hold however slowly this machine runs them (no tick can overtake another).
      const perTick: ScheduleItem[][] = ticks.map((tick, index) => {
        const invoke = (region: string, delivery: Delivery, offsetMs: number): ScheduleItem => ({
          kind: 'invoke',
          atMs: 50 + offsetMs,
          request: {
            job: JOB.job,
            region,
            // One region on EventBridge Scheduler, the other on a scheduled rule firing 7 s into the minute.
            event: region === 'us-east-1' ? schedulerEvent(tick) : scheduledRuleEvent(tick, region, 7_000),
            tick,
            delivery,
            // Room for the claim and the 150 ms body before the guard's deadline (2.25 s before
            // Lambda's), also on a loaded machine.
            timeoutMs: 5_000,
            body: BODY,
          },
        });
        const deliveries = REGIONS.map((region, i) => invoke(region, Delivery.SCHEDULED, i * 20));
        if (index === 1) deliveries.push(invoke('us-east-1', Delivery.DUPLICATE, 30));
        if (index === 2) {
          deliveries.push({
            kind: 'step',
            atMs: 0,
            run: () => {
              lostResponse = nemeses.dataApiFault(DataApiFault.LOST_RESPONSE, {
                match: leaseStatements(environment.table).claim,
                count: 1,
              });
            },
          });
        }
        return deliveries;
      });
      for (const items of perTick) {
        const run = await runSchedule({ supervisor, items, lambdaRetry: { delaysMs: [800] }, settleTimeoutMs: 20_000 });
        expect(run.errors).toEqual([]);
      }
      history.recordRegister(JOB.job, await readRegister(environment.executor, JOB.job));
    } finally {
      await supervisor.stop();
    }

    const snapshot = history.snapshot();
    const report = checkHistory(snapshot);
    expect(report.violations).toEqual([]);
    const [job] = report.jobs;
    expect(job).toMatchObject({ ticks: 3, runs: 3, invocations: 7, overlaps: [], ticksRunTwice: [] });
    expect(job?.liveness).toEqual({ ran: 3, superseded: [], missed: [] });
    expect(job?.fences.holders).toBe(3);
    expect(job?.register).toMatchObject({ written: 3, lost: [], duplicated: [], phantom: [] });
    // The claim whose answer was lost had committed; re-sending it settled the same lease.
    expect(lostResponse?.hits).toBe(1);
    expect(snapshot.nemeses.map((nemesis) => [nemesis.kind, nemesis.endObs !== null])).toEqual([
      ['data-api-lost-response', true],
    ]);
    const skipped = snapshot.invocations.filter((record) => record.outcome === InvocationOutcome.SKIPPED);
    expect(skipped).toHaveLength(4);
    for (const record of skipped) expect(['held', 'tick-done']).toContain(record.reason);
    // Every worker process is gone, the warm ones and any forked for the duplicate.
    const forked = new Set([...pids, ...snapshot.invocations.map((record) => record.pid)]);
    expect([...forked].filter(isAlive)).toEqual([]);
  });
});
