/**
 * `npm run bench`: lease-guard (over the local Data API and over mysql2) against seed design A,
 * seed design B and ShedLock, side by side on one throwaway database, then the cold start of a
 * guarded handler. Prints the tables and writes bench/results/last-run.{json,md} (`npm run
 * bench:readme` publishes them as latest.{json,md} and the README's summary). On demand only;
 * `--quick` shrinks every phase for a smoke run (its results are not written).
 * `--only peers,contended,burst,cold` runs just those sections (results not written either).
 * contended: every design against the floor, interleaved; burst: duplicate bursts on a second
 * database with durable commits and slowed fsyncs (bench/durable).
 */
import '../src/cli/quiet-sdk-warning.js';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { startDataApiServer } from '../src/local/data-api/index.js';
import { openLocalDatabase } from '../src/local/throwaway-mysql.js';
import { createDataApiExecutor } from '../src/sql/data-api-executor.js';
import { createMysql2Executor } from '../src/sql/mysql2-executor.js';
import { measureBursts } from './burst.js';
import { measureColdStart } from './cold-start.js';
import { measureContended } from './contended.js';
import { startDurableDatabase } from './durable/server.js';
import { CLAIM_BEFORE_ISSUE_12 } from './fixtures/claim-before-issue-12.js';
import { type Transports, tickSource } from './harness.js';
import { measureLatency } from './latency.js';
import { floorPeer } from './peers/floor.js';
import { leaseGuardPeer } from './peers/lease-guard.js';
import type { Peer } from './peers/peer.js';
import { rawClaimPeer, STORE_CLAIM_OVER_MYSQL2 } from './peers/raw-claim.js';
import { HEALTH_TIMEOUT_S, seedAPeer } from './peers/seed-a-version-cas.js';
import { seedBPeer } from './peers/seed-b-unique-key.js';
import { shedLockPeer } from './peers/shedlock.js';
import { storePeer } from './peers/store.js';
import { type BenchResult, type PeerResult, printTables, toMarkdown, writeResults } from './report.js';
import { summarize } from './stats.js';
import { measureThroughput, type ThroughputOptions } from './throughput.js';
import { runTickScenario, type TickScenarioOptions } from './ticks.js';

const quick = process.argv.includes('--quick');
const SECTIONS = ['peers', 'contended', 'burst', 'cold'] as const;
type Section = (typeof SECTIONS)[number];
const only = ((): readonly Section[] | undefined => {
  const at = process.argv.indexOf('--only');
  if (at < 0) return undefined;
  const picked = (process.argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = picked.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (picked.length === 0 || unknown.length > 0) {
    throw new Error(
      `--only takes a comma-separated list of ${SECTIONS.join(', ')}; got ${JSON.stringify(process.argv[at + 1] ?? '')}`,
    );
  }
  return picked as Section[];
})();
const runs = (section: Section): boolean => only === undefined || only.includes(section);
/** Each fsync of the durable database waits this long (see bench/durable/slow-fsync.c). */
const FSYNC_DELAY_US = 1_000;
const SKEW_MS = 2 * 60_000;

const settings = {
  latency: quick ? { rounds: 200, warmup: 50 } : { rounds: 1500, warmup: 200 },
  throughput: (
    [
      { label: 'one-job-n8', contenders: 8, jobs: 1 },
      { label: 'one-job-n32', contenders: 32, jobs: 1 },
      { label: 'jobs16-n32', contenders: 32, jobs: 16 },
    ] as const
  ).map(
    (t, i): ThroughputOptions => ({
      ...t,
      warmupMs: quick ? 150 : 500,
      durationMs: quick ? 300 : 2_000,
      seed: 1_000 + i,
    }),
  ),
  ticks: (
    [
      { label: 'duplicates', skewsMs: [0], lateRedelivery: true, seed: 7 },
      { label: 'clock-skew', skewsMs: [0, SKEW_MS, -SKEW_MS, 0], lateRedelivery: false, seed: 11 },
    ] as const
  ).map(
    (t): TickScenarioOptions => ({
      ...t,
      contenders: 8,
      ticks: quick ? 10 : 40,
      warmupTicks: 3,
      windowMs: 100,
      spreadMs: 50,
      bodyMs: 10,
    }),
  ),
  coldStartRuns: quick ? 3 : 11,
  contended: { contenders: 8, rounds: quick ? 60 : 500, warmupRounds: quick ? 10 : 30 },
  burst: { sizes: [20, 200], bursts: quick ? 4 : 12, warmupBursts: 2, fsyncDelayUs: FSYNC_DELAY_US },
};

// ShedLock's README pairs lockAtLeastFor with the schedule: 14 min for a 15-minute cron. Same proportion here.
const AT_LEAST_MS = Math.round(((settings.ticks[0] as TickScenarioOptions).windowMs * 14) / 15);

/** HEAD, marked dirty when the working tree (which the run measured) differs from it. */
function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src', 'functions'], {
      encoding: 'utf8',
    });
    return dirty.trim() ? `${head} + uncommitted changes in src/ or functions/` : head;
  } catch {
    return 'unknown';
  }
}

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = loadavg()[0] as number;
  const server = await openLocalDatabase({ database: 'lease_guard_bench' });
  // A database of its own, so an external server (LEASE_GUARD_MYSQL_URL) starts from empty tables too.
  const database = `bench_${randomBytes(4).toString('hex')}`;
  const url = await server.createDatabase(database);
  const mysql2 = createMysql2Executor({ url, connectionLimit: 64 });
  const dataApi = await startDataApiServer({ mysqlUrl: url, connectionLimit: 64, log });
  const client = new RDSDataClient({
    endpoint: dataApi.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  const transports: Transports = {
    mysql2,
    'data-api': createDataApiExecutor({
      client,
      resourceArn: 'arn:aws:rds:us-east-1:123456789012:cluster:bench',
      secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench',
      database,
    }),
  };

  try {
    const { rows } = await mysql2.execute({ sql: 'SELECT VERSION() AS version, UTC_TIMESTAMP(3) AS now' });
    const nextTick = tickSource(Date.parse(`${String(rows[0]?.now).replace(' ', 'T')}Z`));
    const reference = leaseGuardPeer('mysql2', 'bench_lease_guard_mysql2');
    const peers: Peer[] = [
      leaseGuardPeer('data-api', 'bench_lease_guard_data_api'),
      reference,
      seedAPeer(),
      seedBPeer(),
      shedLockPeer(),
    ];
    // Its unlock keeps the lock, so back-to-back claims by one environment would fail: ticks only.
    const tickOnly = shedLockPeer({ table: 'bench_shedlock_at_least', lockAtLeastForMs: AT_LEAST_MS });

    const results: PeerResult[] = [];
    for (const peer of runs('peers') ? [...peers, tickOnly] : []) {
      log(peer.name);
      const latency =
        peer === tickOnly ? undefined : await measureLatency(peer, transports, nextTick, settings.latency);
      const throughput = [];
      if (peer !== tickOnly) {
        for (const options of settings.throughput) {
          throughput.push(await measureThroughput(peer, transports, nextTick, options));
        }
      }
      const ticks = [];
      for (const options of settings.ticks) ticks.push(await runTickScenario(peer, transports, nextTick, options));
      results.push({ name: peer.name, transport: peer.transport, ...(latency ? { latency } : {}), throughput, ticks });
    }

    let contended: BenchResult['contended'];
    if (runs('contended')) {
      log('contended rounds');
      const raw = [
        rawClaimPeer('lease-guard claim statement, raw', url, 'bench_raw_claim', STORE_CLAIM_OVER_MYSQL2),
        rawClaimPeer(
          'lease-guard claim statement before issue 12, raw',
          url,
          'bench_raw_claim_before',
          CLAIM_BEFORE_ISSUE_12,
        ),
      ];
      const floors = [floorPeer(url), floorPeer(url, 'matched'), floorPeer(url, 'loser-writes')];
      try {
        contended = await measureContended(
          [
            ...floors,
            shedLockPeer({ table: 'bench_shedlock_contended' }),
            ...raw,
            storePeer('bench_store_contended'),
            leaseGuardPeer('mysql2', 'bench_lease_guard_contended'),
            leaseGuardPeer('data-api', 'bench_lease_guard_contended_data_api'),
            seedAPeer('bench_seed_a_contended'),
            seedBPeer('bench_seed_b_contended'),
          ],
          transports,
          nextTick,
          settings.contended,
          log,
        );
      } finally {
        await Promise.all([...floors, ...raw].map((p) => p.close()));
      }
    }

    let burst: BenchResult['burst'];
    if (runs('burst')) {
      log('bursts on the durable-commit database');
      burst = await runBursts();
    }

    let coldStart: BenchResult['coldStart'] = [];
    if (runs('cold')) {
      log('cold start');
      coldStart = await measureColdStart({ runs: settings.coldStartRuns });
    }

    const result: BenchResult = {
      generatedAt: new Date().toISOString(),
      commit: commit(),
      environment: {
        node: process.version,
        cpus: cpus().length,
        cpu: cpus()[0]?.model ?? 'unknown',
        database: String(rows[0]?.version),
        // Other work on the machine moves every timing; the 1-minute load average says how much there was.
        loadBefore: Math.round(loadBefore * 100) / 100,
        loadAfter: Math.round((loadavg()[0] as number) * 100) / 100,
        quick,
        seconds: Math.round((performance.now() - started) / 1000),
      },
      settings: {
        ...settings,
        shedLockAtLeastForMs: AT_LEAST_MS,
        seedAHealthTimeoutS: HEALTH_TIMEOUT_S,
        skewMs: SKEW_MS,
      },
      reference: reference.name,
      peers: results,
      coldStart,
      ...(contended ? { contended } : {}),
      ...(burst ? { burst } : {}),
    };
    printTables(result);
    if (quick || only) {
      log(`${quick ? '--quick' : '--only'}: results not written`);
    } else {
      log(`results written to ${await writeResults(result, toMarkdown(result, prose()))}`);
      log('npm run bench:readme publishes them: bench/results/latest.{json,md} and the README performance section');
    }
  } finally {
    client.destroy();
    await dataApi.close();
    await mysql2.execute({ sql: `DROP DATABASE \`${database}\`` }).catch(() => undefined);
    await mysql2.close();
    await server.stop();
  }
}

/** The burst profile on its own durable-commit server, with its own pool sized for the largest burst. */
async function runBursts(): Promise<NonNullable<BenchResult['burst']>> {
  const durable = await startDurableDatabase(FSYNC_DELAY_US, 'lease_guard_bench_durable');
  const largest = Math.max(...settings.burst.sizes);
  const mysql2 = createMysql2Executor({ url: durable.server.url, connectionLimit: largest + 8 });
  const raw = [
    rawClaimPeer('lease-guard claim statement, raw', durable.server.url, 'bench_raw_claim', STORE_CLAIM_OVER_MYSQL2),
    rawClaimPeer(
      'lease-guard claim statement before issue 12, raw',
      durable.server.url,
      'bench_raw_claim_before',
      CLAIM_BEFORE_ISSUE_12,
    ),
  ];
  const floors = [floorPeer(durable.server.url), floorPeer(durable.server.url, 'loser-writes')];
  try {
    const { rows } = await mysql2.execute({
      sql: 'SELECT UTC_TIMESTAMP(3) AS now, @@innodb_flush_log_at_trx_commit AS flush, @@sync_binlog AS sync_binlog, @@log_bin AS log_bin, @@binlog_format AS format',
    });
    const server = rows[0] ?? {};
    // One committed write at a time, to show what a commit costs on this server.
    await mysql2.execute({ sql: 'CREATE TABLE commit_probe (id INT PRIMARY KEY, n BIGINT NOT NULL)' });
    await mysql2.execute({ sql: 'INSERT INTO commit_probe VALUES (1, 0)' });
    const commits: number[] = [];
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      await mysql2.execute({ sql: 'UPDATE commit_probe SET n = n + 1 WHERE id = 1' });
      commits.push(performance.now() - started);
    }
    const nextTick = tickSource(Date.parse(`${String(server.now).replace(' ', 'T')}Z`));
    const transports: Transports = { mysql2, 'data-api': mysql2 };
    const results = await measureBursts(
      [
        ...floors,
        shedLockPeer({ table: 'bench_shedlock_burst' }),
        storePeer('bench_store_burst'),
        leaseGuardPeer('mysql2', 'bench_lease_guard_burst'),
        ...raw,
      ],
      transports,
      nextTick,
      settings.burst,
      log,
    );
    return {
      server: {
        innodbFlushLogAtTrxCommit: Number(server.flush),
        syncBinlog: Number(server.sync_binlog),
        logBin: Number(server.log_bin),
        binlogFormat: String(server.format),
        fsyncDelayUs: durable.fsyncDelayUs,
        commitMs: summarize(commits),
      },
      results,
    };
  } finally {
    await Promise.all([...floors, ...raw].map((p) => p.close()));
    await mysql2.close();
    await durable.stop();
  }
}

function prose(): { how: string; limits: string } {
  const l = settings.latency;
  const [t] = settings.throughput;
  const [d] = settings.ticks;
  return {
    how: [
      `- One process, one throwaway MariaDB (or \`LEASE_GUARD_MYSQL_URL\`), one run: every peer on its own table in the same fresh database, one peer at a time. lease-guard runs as users run it, a middy handler with \`leaseGuard\` fed an EventBridge Scheduler event; its Data API variant goes through \`@aws-sdk/client-rds-data\` to the project's local Data API server (in the same process), everything else through one mysql2 pool.`,
      '- Every contender is an execution environment with its own identity, caches, clock and counting executor: round trips are the statements each invocation sent, counted, not read off the code.',
      `- Latency: ${l.rounds} rounds after ${l.warmup} warm-up rounds, one invocation at a time: A claims a new tick and wins, B claims it while A holds and loses, A releases. The cold figures are the first round (fresh environments, a job nobody ran: "first run") and a third fresh environment claiming the job after the rounds ("cold").`,
      `- Claims/s: closed loops of N environments for ${(t?.durationMs ?? 0) / 1000} s after ${(t?.warmupMs ?? 0) / 1000} s of warm-up; each invocation claims a new tick of one job (or of one of 16, drawn with a fixed seed) and releases at once when it wins.`,
      `- Once per tick: ${d?.ticks} ticks (after ${d?.warmupTicks} warm-up ticks), each delivered to ${d?.contenders} environments at seeded random offsets within ${d?.spreadMs} ms of a ${d?.windowMs} ms window; a won invocation runs a ${d?.bodyMs} ms body, then releases. "duplicates" also delivers one copy of each tick again one window later (a retry or redelivery); "clock-skew" gives a quarter of the environments a clock ${SKEW_MS / 60_000} min fast and a quarter ${SKEW_MS / 60_000} min slow. Time is compressed: a window stands for a schedule period, so ShedLock's second row sets lockAtLeastFor to 14/15 of the window (${AT_LEAST_MS} ms), as its README does for a 15-minute cron. Seed A keeps its article's ${HEALTH_TIMEOUT_S} s health timeout.`,
      `- Cold start: esbuild with the CDK construct's settings (minified ESM, platform node, target node22, the createRequire banner), once with the AWS SDK bundled (the construct's default) and once with \`@aws-sdk/*\` external (the SDK in Lambda's Node 22 runtime); import time is the median of ${settings.coldStartRuns} fresh \`node\` processes each importing the bundle once, after one unmeasured import to warm the file cache. The guarded handler is functions/nightly-report.ts, the unguarded one bench/fixtures/unguarded-report.ts (same middy handler, no guard).`,
      "- Seeds are fixed (arrivals, job draws); lease-guard's holder nonces are random. lease-guard's logger and metrics sink serialise their lines and drop them rather than print; its figures include the harness's per-invocation Lambda context (a random request id) and the gate that holds the body, which the peers do not pay.",
      `- Against the floor: ${settings.contended.rounds} rounds after ${settings.contended.warmupRounds} warm-up rounds; in each, ${settings.contended.contenders} environments of a design claim one new tick of one job at once and the winner releases once all have answered; the designs take turns round by round in a rotating order, so the machine's load falls on all alike. The floor (bench/peers/floor.ts) is \`UPDATE … SET holder = ?, until = now + 30 s WHERE name = ? AND until <= now\`, released by holder, on a plain mysql2 connection per environment; its twin adds one column every attempt writes. lease-guard appears four ways: its claim statement and release sent raw on plain connections (today's as the store sends it over mysql2, without the global-database and affinity parts, and the one from before issue 12, bench/fixtures), its public store over the project's mysql2 executor, and the middleware as users run it.`,
      `- Bursts: a second throwaway server with \`innodb_flush_log_at_trx_commit=1\`, the binary log on (ROW) with \`sync_binlog=1\`, and every fsync ${FSYNC_DELAY_US} µs slower (bench/durable/slow-fsync.c, preloaded into the server: this machine's disk commits faster than a storage quorum across zones would). ${settings.burst.bursts} bursts of each size after ${settings.burst.warmupBursts} warm-up bursts, designs interleaved; in each, that many environments claim one new tick at once, each claim timed on its own. The server's fsync and binlog-commit counters are read around each burst.`,
      "- The peers are ports, each in bench/peers/ with its deviations stated: seed A and seed B gain a job column (one election per job), seed B an index on the column its UPDATE filters by. Errors (seed B's deadlocks) are counted and not retried: the invocation fails, as a Lambda would.",
    ].join('\n'),
    limits: [
      '- **Not AWS latency.** Every hop is loopback: the Data API figures are the SDK plus a local emulator in the same Node process, sharing one event loop with the clients; the real Data API costs about 100 ms p50 and 570 ms p99 per call (published figures collected in the reliability research, section c). On AWS the round-trip counts are what carries over: each statement is one Data API call.',
      '- **Not Aurora.** A local MariaDB with `innodb_flush_log_at_trx_commit=2` and no replication for every section but the bursts, whose durable commits are a slowed local fsync, not a storage quorum; commit and lock costs differ on Aurora MySQL.',
      '- **Shared machine.** 2 cores shared by the database, the benchmark, the emulator and whatever else runs; claims/s and p99 move between runs. Compare peers within a run, not runs with each other.',
      "- **Peers over mysql2 only.** The peers were not run over the Data API; their ratios are against lease-guard over mysql2. Statements are counted, not transactions: ShedLock's per-statement REQUIRES_NEW transactions would add JDBC round trips that are not counted here.",
      "- **Compressed time.** Windows of 100 ms stand for schedule periods of minutes; whether a late copy or a skewed clock causes a double run depends on the peer's time settings in proportion to the period, not on the absolute numbers.",
      '- **No crashes, failover or failed runs.** Every body succeeds and every release is sent; what each design does when a holder dies or a run fails is covered by the test suites, not here.',
    ].join('\n'),
  };
}

await main();
