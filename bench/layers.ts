/**
 * Claims per second on one hot job, layer by layer (issue 12): N environments in closed loops on
 * one job, each invocation a new tick, the winner releasing at once (bench/throughput.ts), for
 * the floor on plain connections (and its twin that matches every attempt, answering losers as
 * lease-guard does), ShedLock through the project's mysql2 executor, and lease-guard cut at each
 * layer: its claim statement through the executor (the general text too), the store, the store inside
 * claimWithRetry, the guard without middy, and the middleware as users run it. The layers take
 * turns in short slices, rotated each pass, so the machine's load falls on all alike; each
 * layer's rate is the mean over its slices, read against ShedLock's, with the CPU time per claim
 * of this process (contenders and driver) and of the database server.
 *
 *   npx tsx bench/layers.ts [passes, 4] [slice ms, 1000] [contenders, 8]
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openLocalDatabase } from '../src/local/throwaway-mysql.js';
import { createMysql2Executor } from '../src/sql/mysql2-executor.js';
import { type Transports, tickSource } from './harness.js';
import { floorPeer } from './peers/floor.js';
import { executorClaimPeer, guardPeer, retryPeer } from './peers/layers.js';
import { leaseGuardPeer } from './peers/lease-guard.js';
import type { Peer } from './peers/peer.js';
import { shedLockPeer } from './peers/shedlock.js';
import { storePeer } from './peers/store.js';
import { measureThroughput } from './throughput.js';

const passes = Number(process.argv[2] ?? 4);
const sliceMs = Number(process.argv[3] ?? 1000);
const contenders = Number(process.argv[4] ?? 8);

/** The database server's CPU time so far in ms (Linux, a throwaway server), else NaN. */
function serverCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100 Hz).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

const server = await openLocalDatabase({ database: 'lease_guard_layers' });
const pid = (server as { pid?: number }).pid;
try {
  const url = await server.createDatabase(`layers_${randomBytes(4).toString('hex')}`);
  const mysql2 = createMysql2Executor({ url, connectionLimit: 64 });
  const transports = { mysql2, 'data-api': mysql2 } as Transports;
  const { rows } = await mysql2.execute({ sql: 'SELECT UTC_TIMESTAMP(3) AS now' });
  const nextTick = tickSource(Date.parse(`${String(rows[0]?.now).replace(' ', 'T')}Z`));
  const floor = floorPeer(url);
  const matched = floorPeer(url, 'matched');
  const layers: Peer[] = [
    floor,
    shedLockPeer({ table: 'layers_shedlock' }),
    matched,
    executorClaimPeer('layers_executor_general', true),
    executorClaimPeer('layers_executor'),
    storePeer('layers_store'),
    retryPeer('layers_retry'),
    guardPeer('layers_guard'),
    leaseGuardPeer('mysql2', 'layers_middleware'),
  ];
  const tally = layers.map(() => ({
    rates: [] as number[],
    cpu: [] as number[],
    serverCpu: [] as number[],
    rtLoser: [] as number[],
    errors: 0,
  }));
  try {
    for (let pass = 0; pass < passes; pass++) {
      for (let i = 0; i < layers.length; i++) {
        const at = (i + pass) % layers.length;
        const serverBefore = serverCpuMs(pid);
        const result = await measureThroughput(layers[at] as Peer, transports, nextTick, {
          label: 'hot',
          contenders,
          jobs: 1,
          warmupMs: Math.min(300, sliceMs / 2),
          durationMs: sliceMs,
          seed: 1_000 + pass,
        });
        const t = tally[at] as (typeof tally)[number];
        t.rates.push(result.claimsPerSecond);
        t.cpu.push(result.cpuMsPerClaim);
        // Warm-up included on the server's side: per claim of the whole slice, warm-up at the same rate.
        const claims = result.claimsPerSecond * ((sliceMs + Math.min(300, sliceMs / 2)) / 1000);
        t.serverCpu.push((serverCpuMs(pid) - serverBefore) / claims);
        t.rtLoser.push(result.rtPerLoser);
        t.errors += result.errors;
        if (result.firstError) console.error(`${layers[at]?.name}: ${result.firstError}`);
      }
    }
  } finally {
    await Promise.all([floor.close(), matched.close()]);
    await mysql2.close();
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const shed = mean(tally[layers.findIndex((l) => l.name.startsWith('ShedLock'))]?.rates ?? []);
  console.log(`${contenders} environments on one job, ${passes} passes of ${sliceMs} ms slices per layer`);
  console.log(
    '| layer | claims/s (slices) | vs ShedLock | benchmark process CPU ms/claim | database CPU ms/claim | statements per loser | errors |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  layers.forEach((layer, i) => {
    const t = tally[i] as (typeof tally)[number];
    const rate = mean(t.rates);
    console.log(
      `| ${layer.name} | ${rate.toFixed(0)} (${t.rates.map((r) => r.toFixed(0)).join(' ')}) | ${(rate / shed).toFixed(2)}× | ${mean(t.cpu).toFixed(3)} | ${mean(t.serverCpu).toFixed(3)} | ${mean(t.rtLoser).toFixed(2)} | ${t.errors} |`,
    );
  });
} finally {
  await server.stop();
}
