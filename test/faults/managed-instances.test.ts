/**
 * The multi-concurrency harness (issue 21): a Node.js process standing in for one Lambda Managed
 * Instances execution environment (worker threads, many guarded invocations at once in each, never
 * frozen, timeouts not enforced, AWS_LAMBDA_MAX_CONCURRENCY set), both front doors, duplicates of
 * every tick, bodies that fail, succeed, or outlive their invocation's deadline and their lease's first term.
 * Checked against the real database: no two bodies of a job at once, no tick completed twice,
 * no release lost (every row free and its completed mark the last tick that succeeded), and
 * nothing ever tried to end the process.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../src/lease/sql-lease-store.js';
import { createMysql2Executor } from '../../src/sql/mysql2-executor.js';
import { freshDatabase } from '../support/database.js';
import { childModule } from '../support/prebuilt.js';

interface HarnessResult {
  readonly idle: boolean;
  readonly exits: number;
  readonly jobs: readonly {
    job: string;
    most: number;
    started: number;
    late: number;
    successes: number[];
    ticks: string[];
  }[];
  readonly answers: Record<string, number>;
}

function runHarness(url: string, seed: number, mode = 'detected'): Promise<HarnessResult> {
  const child = childModule('test/faults/managed-instances-worker.ts');
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...child.execArgv, child.file, url, String(seed), mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk;
    });
    proc.stderr.on('data', (chunk) => {
      err += chunk;
    });
    proc.on('error', reject);
    proc.on('close', (code) => {
      if (code !== 0) reject(new Error(`the harness exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as HarnessResult);
    });
  });
}

describe('Lambda Managed Instances: many invocations at once in one environment', () => {
  let url: string;
  let raw: ReturnType<typeof createMysql2Executor>;

  beforeAll(async () => {
    url = await freshDatabase('managed_instances');
    raw = createMysql2Executor({ url });
    await migrate(raw, 'lease_guard');
  });
  afterAll(() => raw.close());

  it('keeps every guarantee with duplicates, failures and bodies past their deadline', async () => {
    const result = await runHarness(url, 7);
    expect(result.idle, 'every body and release settled').toBe(true);
    expect(result.exits, 'nothing tried to end the process').toBe(0);
    // The mix really happened: bodies past their deadline, skips behind live leases, failures.
    expect(result.jobs.reduce((sum, job) => sum + job.late, 0)).toBeGreaterThan(0);
    expect(result.answers).toMatchObject({ held: expect.any(Number), Error: expect.any(Number) });
    const store = createSqlLeaseStore({ executor: raw });
    for (const job of result.jobs) {
      expect(job.most, `${job.job}: two bodies at once`).toBe(1);
      for (const count of job.successes) expect(count, `${job.job}: a tick completed twice`).toBeLessThanOrEqual(1);
      const row = await store.inspect(job.job);
      // No release lost: the lease is free, every started body is counted, and the completed mark
      // is the last tick whose body succeeded (its real outcome, also for bodies past their deadline).
      expect(row, job.job).toMatchObject({ holder: null, held: false, runs: job.started });
      const last = job.successes.findLastIndex((count) => count > 0);
      expect(row?.tickDone?.toISOString() ?? null, job.job).toBe(last < 0 ? null : job.ticks[last]);
    }
  }, 120_000);

  it('negative control: the same environment taken for standard Lambda tries to end the process under the others', async () => {
    const result = await runHarness(url, 8, 'undetected');
    expect(result.exits).toBeGreaterThan(0);
  }, 120_000);
});
