/**
 * Issue 15: lease-guard inside the middy stacks users run, with the REAL packages (Powertools
 * Logger, Metrics, Tracer; @middy/warmup, error-logger, input-output-logger; a serializer that
 * throws) against the real database. Per invocation it checks the body's runs, the lease row, the
 * log lines, the EMF documents and the X-Ray documents sent to a local UDP daemon. middy 6 always;
 * middy 7 too on Node 22 (it requires Node >= 22).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import errorLogger from '@middy/error-logger';
import inputOutputLogger from '@middy/input-output-logger';
import warmup from '@middy/warmup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../src/constants.js';
import type { LeaseGuardOptions } from '../../src/guard/options.js';
import type { LeaseSkipped } from '../../src/guard/types.js';
import type { LeaseStore } from '../../src/lease/lease-store.js';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { leaseGuard } from '../../src/middleware/lease-guard.js';
import { leaseGuarded } from '../../src/middleware/lease-guarded.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { currentTick, lambdaContext, schedulerEvent } from '../fixtures/lambda.js';
import { freshDatabase } from '../support/database.js';
import { middyCores } from './middy-cores.js';
import {
  captureOutput,
  emfDocuments,
  guardLines,
  lambdaEnvironment,
  newTrace,
  releaseInAfterMiddleware,
  startXRayDaemon,
} from './stack-harness.js';

const savedEnv = { ...process.env };
const daemon = await startXRayDaemon();
lambdaEnvironment(daemon);
// X-Ray's SDK reads the Lambda environment when it loads.
const { Tracer } = await import('@aws-lambda-powertools/tracer');
const { captureLambdaHandler } = await import('@aws-lambda-powertools/tracer/middleware');

const cores = await middyCores();

const WARMUP_EVENT = { source: 'serverless-plugin-warmup' };
type Guard = ReturnType<typeof leaseGuard>;
let sequence = 0;

describe.each(cores)('lease-guard in real middy stacks (%s)', (_, middy) => {
  let raw: ReturnType<typeof createMysql2Executor>;
  let inspector: LeaseStore;

  beforeAll(async () => {
    raw = createMysql2Executor({ url: await freshDatabase('stacks') });
    await migrate(raw, 'lease_guard');
    inspector = createSqlLeaseStore({ executor: raw });
  });
  afterAll(async () => {
    await raw.close();
  });

  const job = (label: string) => `stack-${label}-${++sequence}`;
  const powertools = () => ({
    logger: new Logger({ serviceName: 'invoices' }),
    metrics: new Metrics({ namespace: 'MyApp', serviceName: 'invoices' }),
    tracer: new Tracer({ serviceName: 'invoices' }),
  });
  const guardOptions = (name: string, tools: ReturnType<typeof powertools>): LeaseGuardOptions => ({
    job: name,
    executor: raw,
    logger: tools.logger,
    metrics: tools.metrics,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    releaseTimeoutMs: 1_000,
  });
  /** A response serializer as users write them: it throws on a value JSON cannot hold. */
  const serializer = {
    after: (request: { response: unknown }) => {
      request.response = JSON.stringify(request.response);
    },
  };

  async function invoke(handler: (event: unknown, context: never) => Promise<unknown>, event: unknown) {
    const trace = newTrace();
    const context = lambdaContext({ timeoutMs: 30_000 });
    const outcome = await captureOutput(() => handler(event, context as never));
    return { ...outcome, trace, requestId: context.awsRequestId };
  }

  describe('1. an `after` that throws (a serializer) after the run', () => {
    it('leaseGuarded: the tick is recorded done and its retry skips, in either order', async () => {
      for (const serializerFirst of [true, false]) {
        const name = job('serializer');
        const tools = powertools();
        let runs = 0;
        const body = leaseGuarded(guardOptions(name, tools), async () => {
          runs++;
          return { invoiced: 1n }; // JSON.stringify cannot serialize a BigInt
        });
        const handler = serializerFirst
          ? middy(body).use(serializer).use(injectLambdaContext(tools.logger))
          : middy(body).use(injectLambdaContext(tools.logger)).use(serializer);
        const tick = currentTick();
        const event = schedulerEvent(tick);
        const first = await invoke(handler, event);
        expect(first.error).toBeInstanceOf(TypeError);
        expect(await inspector.inspect(name)).toMatchObject({ held: false, tickDone: tick, failures: 0 });
        const retry = await invoke(handler, event);
        expect(JSON.parse(retry.result as string)).toMatchObject({ status: 'skipped', reason: 'tick-done' });
        expect(runs).toBe(1);
      }
    });

    it('leaseGuard in either order records the body’s own end; releasing in after/onError (the old middleware) runs the tick twice', async () => {
      const runsWith = async (stack: 'guard-last' | 'guard-first' | 'old-first') => {
        const name = job(`serializer-${stack}`);
        const tools = powertools();
        let runs = 0;
        const base = middy(async () => {
          runs++;
          return { invoiced: 1n };
        });
        const guard =
          stack === 'old-first'
            ? releaseInAfterMiddleware(guardOptions(name, tools))
            : leaseGuard(guardOptions(name, tools));
        const handler =
          stack === 'guard-last' ? base.use(serializer).use(guard as Guard) : base.use(guard as Guard).use(serializer);
        const event = schedulerEvent(currentTick());
        await invoke(handler, event);
        await invoke(handler, event);
        return runs;
      };
      expect(await runsWith('guard-last')).toBe(1);
      expect(await runsWith('guard-first')).toBe(1);
      // The negative control: the serializer's error recorded as the run's, so the retry reruns it.
      expect(await runsWith('old-first')).toBe(2);
    });
  });

  describe('2. logMetrics with throwOnEmptyMetrics after the guard, a body that adds no metric', () => {
    it('the run is recorded and the lease freed; the next tick runs', async () => {
      const name = job('empty-metrics');
      const tools = powertools();
      let runs = 0;
      const handler = middy(
        leaseGuarded(guardOptions(name, tools), async () => {
          runs++;
          return 'sent';
        }),
      ).use(logMetrics(tools.metrics, { throwOnEmptyMetrics: true }));
      const tick = currentTick(-1);
      const first = await invoke(handler, schedulerEvent(tick));
      expect((first.error as Error).message).toMatch(/metrics/i);
      expect(await inspector.inspect(name)).toMatchObject({ held: false, tickDone: tick });
      await invoke(handler, schedulerEvent(currentTick()));
      expect(runs).toBe(2);
    });
  });

  describe('2 and 3 with the leaseGuard middleware registered before them', () => {
    const stops: [string, (tools: ReturnType<typeof powertools>) => object][] = [
      ['logMetrics with throwOnEmptyMetrics', (tools) => logMetrics(tools.metrics, { throwOnEmptyMetrics: true })],
      ['an onError that answers', () => ({ onError: async () => ({ statusCode: 500 }) })],
    ];

    it.each(stops)('%s: the release starts when the body settles, and the next tick runs', async (_, stop) => {
      const name = job('stopped');
      const tools = powertools();
      let runs = 0;
      const handler = middy(async () => {
        runs++;
        if (runs === 1) throw new Error('downstream said no');
        return 'sent';
      })
        .use(leaseGuard(guardOptions(name, tools)))
        .use(stop(tools) as Guard);
      const [first, second] = [currentTick(-1), currentTick()];
      await invoke(handler, schedulerEvent(first));
      await invoke(handler, schedulerEvent(second));
      expect(runs).toBe(2);
      // Nothing after the body waits for its release here (the chain stopped before leaseGuard's
      // hooks): it may land just after the answer, and always before this environment claims again.
      await expect.poll(() => inspector.inspect(name)).toMatchObject({ held: false, failures: 1, tickDone: second });
    });

    it.each(stops)(
      'negative control, %s before the old middleware: the lease leaks and the next tick is skipped',
      async (_, stop) => {
        const name = job('leaked');
        const tools = powertools();
        let runs = 0;
        const handler = middy(async () => {
          runs++;
          throw new Error('downstream said no');
        })
          .use(releaseInAfterMiddleware(guardOptions(name, tools)) as Guard)
          .use(stop(tools) as Guard);
        await invoke(handler, schedulerEvent(currentTick(-1)));
        expect(await inspector.inspect(name)).toMatchObject({ held: true, releasedAt: null });
        const next = await invoke(handler, schedulerEvent(currentTick()));
        expect(next.result ?? next.error).toMatchObject({ status: 'skipped', reason: 'held' });
        expect(runs).toBe(1);
      },
    );
  });

  describe('2 and 3 with the leaseGuard middleware registered last', () => {
    it('logMetrics with throwOnEmptyMetrics: the run is recorded and the lease freed', async () => {
      const name = job('last-metrics');
      const tools = powertools();
      const handler = middy(async () => 'sent')
        .use(logMetrics(tools.metrics, { throwOnEmptyMetrics: true }))
        .use(leaseGuard(guardOptions(name, tools)));
      const tick = currentTick();
      const first = await invoke(handler, schedulerEvent(tick));
      expect(first.error).toBeDefined();
      expect(await inspector.inspect(name)).toMatchObject({ held: false, tickDone: tick });
    });

    it('an onError that answers: the failure is recorded and the lease freed', async () => {
      const name = job('last-on-error');
      const tools = powertools();
      const handler = middy(async () => {
        throw new Error('downstream said no');
      })
        .use({ onError: async () => ({ statusCode: 500 }) })
        .use(leaseGuard(guardOptions(name, tools)));
      expect((await invoke(handler, schedulerEvent(currentTick()))).result).toEqual({ statusCode: 500 });
      expect(await inspector.inspect(name)).toMatchObject({ held: false, failures: 1, tickDone: null });
    });
  });

  describe('3. an onError that answers with a value, registered after the guard', () => {
    it('the failure is recorded, the lease freed and the retry runs the tick; error-logger still logs', async () => {
      const name = job('on-error');
      const tools = powertools();
      let runs = 0;
      const handler = middy(
        leaseGuarded(guardOptions(name, tools), async () => {
          runs++;
          if (runs === 1) throw new Error('downstream said no');
          return 'sent';
        }),
      )
        // middy runs onError last-registered first: error-logger logs, then the answer stops the chain.
        .use({ onError: async () => ({ statusCode: 500 }) })
        .use(errorLogger());
      const event = schedulerEvent(currentTick());
      const first = await invoke(handler, event);
      expect(first.result).toEqual({ statusCode: 500 });
      expect(await inspector.inspect(name)).toMatchObject({ held: false, failures: 1, tickDone: null });
      expect(guardLines(first.emitted).at(-1)).toMatchObject({ level: 'ERROR', outcome: 'failed' });
      // error-logger's own line (console.error of the error), besides lease-guard's JSON line.
      expect(first.emitted.stderr).toContain('Error: downstream said no');
      const retry = await invoke(handler, event);
      expect(retry.result).toBe('sent');
      expect(runs).toBe(2);
    });
  });

  describe('4. @middy/warmup after the guard', () => {
    it('a warmup ping never claims, in either shape, and the tick right after runs', async () => {
      for (const shape of ['leaseGuarded', 'leaseGuard'] as const) {
        const name = job(`warmup-${shape}`);
        const tools = powertools();
        let runs = 0;
        const body = async () => {
          runs++;
          return 'sent';
        };
        const handler =
          shape === 'leaseGuarded'
            ? middy(leaseGuarded(guardOptions(name, tools), body)).use(warmup())
            : middy(body)
                .use(leaseGuard(guardOptions(name, tools)))
                .use(warmup());
        const ping = await invoke(handler, WARMUP_EVENT);
        // leaseGuarded is the handler: warmup answers before it. The middleware recognises the ping.
        expect(ping.result).toEqual(
          shape === 'leaseGuarded' ? 'warmup' : expect.objectContaining({ status: 'skipped', reason: 'warmup' }),
        );
        expect(await inspector.inspect(name)).toBeUndefined();
        expect((await invoke(handler, schedulerEvent(currentTick()))).result).toBe('sent');
        expect(runs).toBe(1);
      }
    });
  });

  describe('5 and 6. a skip closes the invocation for Tracer, Logger and input-output-logger', () => {
    it('leaseGuarded: each invocation sends its own handler subsegment; the skip is logged as a response', async () => {
      const name = job('traced');
      const tools = powertools();
      const handler = middy(leaseGuarded(guardOptions(name, tools), async () => 'sent'))
        .use(captureLambdaHandler(tools.tracer))
        .use(inputOutputLogger())
        .use(injectLambdaContext(tools.logger));
      const event = schedulerEvent(currentTick());
      const run = await invoke(handler, event);
      const skip = await invoke(handler, event);
      const again = await invoke(handler, event);
      for (const invocation of [run, skip, again]) {
        await expect
          .poll(() => daemon.documents.filter((d) => d.trace_id === invocation.trace && d.name === '## index.handler'))
          .toHaveLength(1);
        for (const line of guardLines(invocation.emitted)) {
          expect(line.function_request_id).toBe(invocation.requestId);
        }
      }
      expect(skip.result).toMatchObject({ status: 'skipped', reason: 'tick-done' });
      // input-output-logger's own line for the response.
      expect(skip.emitted.stdout).toContainEqual({ response: expect.objectContaining({ reason: 'tick-done' }) });
    });

    it('leaseGuard registered first, injectLambdaContext after it: the skip still closes its subsegment and logs its own request id', async () => {
      const name = job('traced-mw');
      const tools = powertools();
      const handler = middy(async () => 'sent')
        .use(captureLambdaHandler(tools.tracer))
        .use(leaseGuard(guardOptions(name, tools)))
        .use(injectLambdaContext(tools.logger));
      const event = schedulerEvent(currentTick());
      await invoke(handler, event);
      const skip = await invoke(handler, event);
      const next = await invoke(handler, event);
      for (const invocation of [skip, next]) {
        await expect
          .poll(() => daemon.documents.filter((d) => d.trace_id === invocation.trace && d.name === '## index.handler'))
          .toHaveLength(1);
        const line = guardLines(invocation.emitted).find((l) => l.outcome === 'skipped');
        expect(line?.function_request_id).toBe(invocation.requestId);
      }
    });
  });

  describe('7. the user’s own Powertools Metrics', () => {
    it('lease-guard’s points stay in the contract namespace with the job as the only dimension', async () => {
      const name = job('metrics');
      const tools = powertools();
      const handler = middy(leaseGuarded(guardOptions(name, tools), async () => 'sent')).use(logMetrics(tools.metrics));
      const { emitted } = await invoke(handler, schedulerEvent(currentTick()));
      const ours = emfDocuments(emitted).filter((doc) =>
        doc._aws.CloudWatchMetrics[0]?.Metrics.some(
          (m) => m.Name === METRICS.succeeded || m.Name === METRICS.claimLatency,
        ),
      );
      expect(ours.length).toBeGreaterThanOrEqual(2);
      for (const doc of ours) {
        expect(doc._aws.CloudWatchMetrics).toEqual([
          expect.objectContaining({ Namespace: METRICS.namespace, Dimensions: [[METRICS.dimension]] }),
        ]);
        expect(doc[METRICS.dimension]).toBe(name);
        expect(doc).not.toHaveProperty('service');
      }
    });
  });

  describe('log levels', () => {
    it('won, succeeded and ordinary skips are INFO; an invalid event WARN; a failed run ERROR', async () => {
      const name = job('levels');
      const tools = powertools();
      let calls = 0;
      const handler = middy(
        leaseGuarded(guardOptions(name, tools), async () => {
          calls++;
          if (calls === 2) throw new Error('failed');
          return 'sent';
        }),
      );
      const [earlier, later] = [currentTick(-2), currentTick(-1)];
      const ok = await invoke(handler, schedulerEvent(earlier));
      const skip = await invoke(handler, schedulerEvent(earlier));
      const failed = await invoke(handler, schedulerEvent(later));
      const levels = (run: typeof ok) => guardLines(run.emitted).map((l) => [l.outcome, l.level]);
      expect(levels(ok)).toEqual([
        ['won', 'INFO'],
        ['succeeded', 'INFO'],
      ]);
      expect(levels(skip)).toEqual([['skipped', 'INFO']]);
      expect(levels(failed)).toEqual([
        ['won', 'INFO'],
        ['failed', 'ERROR'],
      ]);
      expect((skip.result as LeaseSkipped).reason).toBe('tick-done');
      const invalid = await invoke(handler, { scheduledTime: 'yesterday' });
      expect(levels(invalid)).toEqual([['skipped', 'WARN']]);
    });
  });
});

afterAll(async () => {
  await daemon.close();
  process.env = savedEnv;
});
