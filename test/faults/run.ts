/**
 * `npm run faults`: the full fault schedule of docs/reliability.md section (b) on this machine,
 * against a throwaway MariaDB and the local Data API server, loopback only. Prints its seed,
 * then a table of faults, invocations, runs and violations per scenario; exits non-zero on any
 * violation, on a negative control that caught nothing, on a scenario that broke, and on a
 * scenario that could not run here (a suite that skips its database faults proves nothing).
 *
 *   npm run faults [-- --seed <n>] [--only <scenario>[,<scenario>…]] [--cpu-load <n>] [--json <file>] [--list]
 *
 * `--cpu-load <n>` runs the suite beside n busy-loop processes, so its verdicts are shown not to
 * depend on an idle machine.
 */
import '../../src/cli/quiet-sdk-warning.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startFleetEnvironment } from '../../src/fleet/environment.js';
import { buildPrebuilt, usePrebuilt } from '../support/prebuilt.js';
import { ensureFaketime, type FaketimeStatus } from './faketime.js';
import { runScenario } from './run-scenario.js';
import { Verdict } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';
import { details, type ScenarioRow, summaryTable } from './summary.js';

const DEFAULT_SEED = 20261125;
const SCENARIO_LIMIT_MS = 4 * 60_000;
/** A busy loop ends by itself after this long, even if the runner is killed before it can stop it. */
const CPU_LOAD_LIMIT_MS = 60 * 60_000;
const MAX_CPU_LOAD = 8;

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function parseSeed(text: string | undefined): number {
  if (text === undefined) return DEFAULT_SEED;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new Error(`--seed must be an integer from 0 to ${0xffff_ffff}, got ${text}`);
  }
  return seed;
}

function parseCpuLoad(text: string | undefined): number {
  if (text === undefined) return 0;
  const count = Number(text);
  if (!Number.isInteger(count) || count < 0 || count > MAX_CPU_LOAD) {
    throw new Error(`--cpu-load must be a whole number of busy-loop processes from 0 to ${MAX_CPU_LOAD}, got ${text}`);
  }
  return count;
}

/** n processes that spin until stopped (or until CPU_LOAD_LIMIT_MS); returns the function that stops them. */
function startCpuLoad(count: number): () => void {
  const loop = `const end = Date.now() + ${CPU_LOAD_LIMIT_MS}; while (Date.now() < end) {}`;
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++) children.push(spawn(process.execPath, ['-e', loop], { stdio: 'ignore' }));
  const stop = (): void => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', stop);
  return stop;
}

async function main(): Promise<number> {
  // The SDK's notice about Node 22 would be repeated in the middle of the report; it is not a fault.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      only: { type: 'string' },
      'cpu-load': { type: 'string' },
      json: { type: 'string' },
      list: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.list) {
    for (const scenario of SCENARIOS)
      log(`${scenario.name.padEnd(24)} ${scenario.catalogue.padEnd(14)} ${scenario.proves}`);
    return 0;
  }
  const started = performance.now();
  const seed = parseSeed(values.seed);
  const cpuLoad = parseCpuLoad(values['cpu-load']);
  const wanted = values.only?.split(',').map((name) => name.trim());
  const unknown = wanted?.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; --list shows them`);
  const selected = SCENARIOS.filter((scenario) => !wanted || wanted.includes(scenario.name));

  log(`lease-guard fault suite: seed ${seed} (replay with --seed ${seed}), ${selected.length} scenario(s)`);
  // The fleet, burst and sandbox processes start from bundles built once, not under tsx each.
  const prebuilt = await buildPrebuilt();
  usePrebuilt(prebuilt.dir);
  const stopCpuLoad = startCpuLoad(cpuLoad);
  if (cpuLoad > 0) log(`cpu load: ${cpuLoad} busy-loop process(es) share the machine for the whole run`);
  const environment = await startFleetEnvironment().catch(async (error: unknown) => {
    stopCpuLoad();
    await prebuilt.remove();
    throw error;
  });
  log(
    environment.throwaway
      ? `database: throwaway ${environment.throwaway.flavor} on 127.0.0.1:${environment.throwaway.port} (pid ${environment.throwaway.pid})`
      : `database: ${environment.mysqlUrl.replace(/:[^:@/]*@/, ':***@')} (external: database faults will not run)`,
  );
  let faketime: FaketimeStatus | undefined;
  const rows: ScenarioRow[] = [];
  try {
    for (const scenario of selected) {
      log(`\n▶ ${scenario.name} (${scenario.catalogue})`);
      const row = await runScenario(
        scenario,
        {
          environment,
          seed,
          profile: 'full',
          runId: randomBytes(3).toString('hex'),
          faketime: async () => {
            faketime ??= ensureFaketime({ install: true, log });
            return faketime;
          },
          log: (line) => log(`  ${line}`),
        },
        SCENARIO_LIMIT_MS,
      );
      rows.push(row);
      for (const line of details(row)) log(line);
    }
  } finally {
    stopCpuLoad();
    await environment.stop();
    await prebuilt.remove();
  }
  log(`\n${summaryTable(rows, seed)}`);
  const failing: readonly Verdict[] = [Verdict.FAIL, Verdict.ERROR, Verdict.NOT_RUN];
  if (values.json) {
    // For CI's closing line: scenario counts and how long the suite took.
    const failed = rows.filter((row) => failing.includes(row.verdict)).length;
    const scenarios = rows.map((row) => ({ name: row.scenario.name, verdict: row.verdict, seconds: row.seconds }));
    const seconds = (performance.now() - started) / 1000;
    writeFileSync(
      values.json,
      `${JSON.stringify({ seed, cpuLoad, passed: rows.length - failed, failed, seconds, scenarios }, null, 2)}\n`,
    );
  }
  return rows.some((row) => failing.includes(row.verdict)) ? 1 : 0;
}

// Ctrl-C: exit through 'exit', so the supervisor's and the database's exit hooks kill their children.
process.once('SIGINT', () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
