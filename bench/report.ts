/**
 * The benchmark's tables, built once as rows and printed three ways: cli-table3 on the console,
 * Markdown and JSON under bench/results/. Ratios are the peer's figure over lease-guard's on the
 * same transport (mysql2), so "2.00×" means twice lease-guard's value whichever way is better.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Table from 'cli-table3';
import type { BurstResult } from './burst.js';
import type { BundleResult } from './cold-start.js';
import type { ContendedResult } from './contended.js';
import type { LatencyResult } from './latency.js';
import type { Summary } from './stats.js';
import type { ThroughputResult } from './throughput.js';
import type { TickScenarioResult } from './ticks.js';

export interface PeerResult {
  readonly name: string;
  readonly transport: string;
  readonly latency?: LatencyResult;
  readonly throughput: readonly ThroughputResult[];
  readonly ticks: readonly TickScenarioResult[];
}

export interface BenchResult {
  readonly generatedAt: string;
  readonly commit: string;
  readonly environment: Readonly<Record<string, string | number | boolean>>;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly reference: string;
  readonly peers: readonly PeerResult[];
  readonly coldStart: readonly BundleResult[];
  /** Every design against the floor, interleaved (issue 12). */
  readonly contended?: readonly ContendedResult[];
  /** Duplicate bursts on the durable-commit database (issue 12). */
  readonly burst?: {
    readonly server: Readonly<Record<string, unknown>> & { readonly commitMs: Summary };
    readonly results: readonly BurstResult[];
  };
}

interface Section {
  readonly title: string;
  readonly note: string;
  readonly head: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '—');
const ratio = (value: number, reference: number | undefined): string =>
  reference && Number.isFinite(value) && Number.isFinite(reference) ? ` (${(value / reference).toFixed(2)}×)` : '';
const withRatio = (value: number, reference: number | undefined, digits: number): string =>
  `${fixed(value, digits)}${ratio(value, reference)}`;
const trips = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(2));
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

function roundTrips(result: BenchResult, ref: PeerResult | undefined): Section {
  const r = ref?.latency;
  return {
    title: 'Round trips per invocation (statements counted at the executor)',
    note: 'Warm = steady state; cold = the first invocation of a new execution environment on a job that has run before; first run = the first claim a job ever sees. Winners: claim+release. "lost": that peer refused the fresh environment although the job was free.',
    head: ['Peer', 'Winner (warm)', 'Loser (warm)', 'Cold winner', 'Cold loser', 'First run of a job'],
    rows: result.peers.flatMap((p) => {
      const l = p.latency;
      if (!l) return [];
      const cold = l.coldOnExisting;
      return [
        [
          p.name,
          `${trips(l.winner.claim)}+${trips(l.winner.release)}${ratio(l.winner.claim + l.winner.release, r && r.winner.claim + r.winner.release)}`,
          `${trips(l.loser)}${ratio(l.loser, r?.loser)}`,
          cold.won ? `${cold.claim}+${cold.release}` : `lost, ${cold.claim}`,
          String(l.coldLoser),
          `${l.firstEver.claim}+${l.firstEver.release}`,
        ],
      ];
    }),
  };
}

function latencyAndThroughput(result: BenchResult, ref: PeerResult | undefined): Section {
  const labels = ref?.throughput.map((t) => t.label) ?? [];
  const throughputOf = (p: PeerResult, label: string) => p.throughput.find((t) => t.label === label);
  return {
    title: 'Claim latency (one at a time) and claims per second (closed loops, contended)',
    note: 'Latency in ms, p50/p99 of the claim alone. Overhead = wall time of claims and releases over the time their statements took. Claims/s counts decided claims, won or lost, then how many of them won.',
    head: [
      'Peer',
      'Win p50',
      'Win p99',
      'Lose p50',
      'Lose p99',
      'Overhead',
      ...labels.map((label) => {
        const t = throughputOf(ref as PeerResult, label) as ThroughputResult;
        return `Claims/s ${t.jobs === 1 ? '1 job' : `${t.jobs} jobs`}, N=${t.contenders}`;
      }),
    ],
    rows: result.peers.flatMap((p) => {
      const l = p.latency;
      if (!l) return [];
      const r = ref?.latency;
      return [
        [
          p.name,
          withRatio(l.winnerClaimMs.p50, r?.winnerClaimMs.p50, 3),
          withRatio(l.winnerClaimMs.p99, r?.winnerClaimMs.p99, 3),
          withRatio(l.loserClaimMs.p50, r?.loserClaimMs.p50, 3),
          withRatio(l.loserClaimMs.p99, r?.loserClaimMs.p99, 3),
          `${fixed(l.overhead, 2)}×`,
          ...labels.map((label) => {
            const t = throughputOf(p, label);
            if (!t) return '—';
            const errors = t.errors ? `, ${t.errors} errors` : '';
            const reference = throughputOf(ref as PeerResult, label)?.claimsPerSecond;
            return `${withRatio(t.claimsPerSecond, reference, 0)}, ${fixed(t.winsPerSecond, 0)} won${errors}`;
          }),
        ],
      ];
    }),
  };
}

function contendedClaims(result: BenchResult): Section {
  return {
    title: 'Contended claims in detail',
    note: 'Per throughput run: claim latency, time waiting on statements and CPU time of this process per claim (for the Data API it includes the emulator), statements per winner (claim+release) and loser, errors.',
    head: [
      'Peer',
      'Run',
      'Claim p50 ms',
      'Claim p99 ms',
      'Statement ms/claim',
      'CPU ms/claim',
      'RT winner',
      'RT loser',
      'Errors',
    ],
    rows: result.peers.flatMap((p) =>
      p.throughput.map((t) => [
        p.name,
        t.label,
        fixed(t.claimMs.p50, 2),
        fixed(t.claimMs.p99, 2),
        fixed(t.statementMsPerClaim, 3),
        fixed(t.cpuMsPerClaim, 3),
        fixed(t.rtPerWinner, 2),
        fixed(t.rtPerLoser, 2),
        t.errors ? `${t.errors}: ${t.firstError ?? ''}` : '0',
      ]),
    ),
  };
}

function contention(result: BenchResult): Section {
  const tickRows = result.peers.filter((p) => p.ticks.length > 0);
  const labels = tickRows[0]?.ticks.map((t) => t.label) ?? [];
  return {
    title: 'Once per tick: ticks that ran twice or more, and ticks that never ran',
    note: 'Per scenario: double-run ticks / measured ticks (in-window duplicates + late copy), then missed ticks.',
    head: ['Peer', ...labels.flatMap((label) => [`${label}: double runs`, `${label}: missed`])],
    rows: tickRows.map((p) => [
      p.name,
      ...labels.flatMap((label) => {
        const t = p.ticks.find((s) => s.label === label);
        if (!t) return ['—', '—'];
        const split = t.lateDoubleRunTicks
          ? ` (${t.inWindowDoubleRunTicks} in window, ${t.lateDoubleRunTicks} late)`
          : '';
        const errors = t.errors ? `, ${t.errors} errors` : '';
        return [`${t.doubleRunTicks}/${t.ticks}${split}${errors}`, `${t.missedTicks}`];
      }),
    ]),
  };
}

function coldStart(result: BenchResult): Section {
  const unguarded = (sdk: string) => result.coldStart.find((b) => b.handler === 'unguarded' && b.sdk === sdk);
  return {
    title: 'Cold start: the nightly-report handler guarded and unguarded (esbuild, minified, ESM, node22)',
    note: 'Import = median ms for a fresh node process to import the bundle. Ratios are guarded over unguarded.',
    head: ['Handler', 'AWS SDK', 'Bundle', 'Gzip', 'Import ms (median)', 'Largest packages (minified)'],
    rows: result.coldStart.map((b) => {
      const u = b.handler === 'guarded' ? unguarded(b.sdk) : undefined;
      return [
        b.handler,
        b.sdk,
        `${kb(b.bytes)}${ratio(b.bytes, u?.bytes)}`,
        `${kb(b.gzipBytes)}${ratio(b.gzipBytes, u?.gzipBytes)}`,
        withRatio(b.importMs, u?.importMs, 1),
        b.packages
          .slice(0, 5)
          .map((p) => `${p.name} ${kb(p.bytes)}`)
          .join(', '),
      ];
    }),
  };
}

function againstFloor(result: BenchResult): Section[] {
  const rows = result.contended;
  if (!rows?.length) return [];
  const n = (result.settings.contended as { contenders?: number } | undefined)?.contenders ?? Number.NaN;
  return [
    {
      title: 'Contended rounds against the floor (one job, one interleaved run)',
      note: `Each round: ${n} environments claim one new tick at once, the winner releases once all have answered; designs take turns round by round. "vs floor": mean round time over the floor's; "per-round median": the median of each round's ratio to the floor's round of the same turn.`,
      head: [
        'Design',
        'Round ms p50',
        'Round ms p99',
        'Round ms mean',
        'vs floor',
        'Per-round median vs floor',
        'Claims/s',
        'Bad rounds, errors',
      ],
      rows: rows.map((r) => [
        r.name,
        fixed(r.roundMs.p50, 2),
        fixed(r.roundMs.p99, 2),
        fixed(r.roundMs.mean, 2),
        `${fixed(r.vsFloor, 2)}×`,
        `${fixed(r.vsFloorMedian, 2)}×`,
        fixed((n * 1000) / r.roundMs.mean, 0),
        `${r.roundsWithoutWinner + r.roundsWithTwoWinners}, ${r.errors}${r.firstError ? ` (${r.firstError.slice(0, 80)})` : ''}`,
      ]),
    },
  ];
}

function bursts(result: BenchResult): Section[] {
  const b = result.burst;
  if (!b) return [];
  const s = b.server;
  const shedLock = (size: number) => b.results.find((r) => r.size === size && r.name.startsWith('ShedLock'));
  return [
    {
      title: 'Bursts of duplicates with durable commits (a second database)',
      note: `innodb_flush_log_at_trx_commit=${s.innodbFlushLogAtTrxCommit}, log_bin=${s.logBin} (${s.binlogFormat}), sync_binlog=${s.syncBinlog}, every fsync ${s.fsyncDelayUs} µs slower (a preloaded shim); one committed write alone takes ${fixed(s.commitMs.p50, 2)} ms p50. Loser ratios are over ShedLock's at the same size. Fsyncs and binlog commits are the server's counters per burst.`,
      head: [
        'Design',
        'Duplicates',
        'Loser ms p50',
        'Loser ms p99',
        'Winner ms p50',
        'Fsyncs / burst',
        'Binlog commits / burst',
        'Errors',
      ],
      rows: b.results.map((r) => [
        r.name,
        String(r.size),
        withRatio(r.loserMs.p50, shedLock(r.size)?.loserMs.p50, 2),
        withRatio(r.loserMs.p99, shedLock(r.size)?.loserMs.p99, 2),
        fixed(r.winnerMs.p50, 2),
        fixed(r.fsyncsPerBurst, 1),
        fixed(r.binlogCommitsPerBurst, 1),
        `${r.errors}${r.firstError ? ` (${r.firstError.slice(0, 80)})` : ''}`,
      ]),
    },
  ];
}

function sections(result: BenchResult): Section[] {
  const ref = result.peers.find((p) => p.name === result.reference);
  return [
    roundTrips(result, ref),
    latencyAndThroughput(result, ref),
    contendedClaims(result),
    ...againstFloor(result),
    ...bursts(result),
    contention(result),
    coldStart(result),
  ];
}

export function printTables(result: BenchResult): void {
  for (const section of sections(result)) {
    const table = new Table({ head: [...section.head], style: { head: [], border: [] }, wordWrap: true });
    for (const row of section.rows) table.push([...row]);
    process.stdout.write(`\n${section.title}\n${section.note}\n${table.toString()}\n`);
  }
  process.stdout.write(`\nRatios: the peer's figure over ${result.reference}'s.\n`);
}

function markdownTable(section: Section): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return [
    `| ${section.head.map(cell).join(' | ')} |`,
    `| ${section.head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...section.rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

export function toMarkdown(result: BenchResult, prose: { how: string; limits: string }): string {
  const env = Object.entries(result.environment)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');
  return [
    '# lease-guard benchmark: latest run',
    '',
    `Generated ${result.generatedAt} at commit \`${result.commit}\` by \`npm run bench\`. ${env}.`,
    `Ratios are the peer's figure over **${result.reference}**'s (the same transport as the peers).`,
    '',
    ...sections(result).flatMap((section) => [`## ${section.title}`, '', section.note, '', markdownTable(section), '']),
    '## How the numbers were taken',
    '',
    prose.how,
    '',
    '## What these numbers do not show',
    '',
    prose.limits,
    '',
  ].join('\n');
}

/**
 * Writes a run to bench/results/last-run.{json,md} (not committed), never over the published
 * latest.{json,md} the README is generated from: a benchmark run leaves `npm test` as it was until
 * `npm run bench:readme` publishes it. Returns the JSON's path.
 */
export async function writeResults(
  result: BenchResult,
  markdown: string,
  dir = resolve(import.meta.dirname, 'results'),
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'last-run.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(dir, 'last-run.md'), markdown);
  return join(dir, 'last-run.json');
}
