import middy from '@middy/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { leaseGuard } from '../../src/middleware/lease-guard.js';
import { MemoryLeaseStore } from '../../src/testing/memory-store.js';
import { lambdaContext } from '../fixtures/lambda.js';

describe('default observability (Powertools Logger and Metrics)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes JSON log lines and EMF metrics in the LeaseGuard namespace with the job as the only dimension', async () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const handler = middy(async () => 'ok').use(leaseGuard({ job: 'emf-default', store: new MemoryLeaseStore() }));
    await handler({}, lambdaContext());
    vi.restoreAllMocks();

    const records = written
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const logs = records.filter((r) => r.message === 'lease-guard');
    expect(logs.map((r) => r.outcome)).toEqual(['won', 'succeeded']);
    const emf = records.filter((r) => '_aws' in r) as {
      _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
      Job: string;
    }[];
    expect(emf.flatMap((r) => Object.keys(r).filter((k) => !['_aws', 'Job'].includes(k)))).toEqual([
      'ClaimLatency',
      'RunSucceeded',
    ]);
    for (const record of emf) {
      expect(record._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'LeaseGuard', Dimensions: [['Job']] });
      expect(record.Job).toBe('emf-default');
    }
  });

  it('keeps running the job when the logger or the metrics sink throws', async () => {
    const broken = () => {
      throw new Error('sink down');
    };
    const handler = middy(async () => 'ok').use(
      leaseGuard({
        job: 'broken-sinks',
        store: new MemoryLeaseStore(),
        logger: { info: broken, warn: broken, error: broken },
        metrics: { singleMetric: broken },
      }),
    );
    expect(await handler({}, lambdaContext())).toBe('ok');
  });
});
