/**
 * `npm run faults`: the full fault schedule of docs/reliability.md section (b) on this machine,
 * against a throwaway MariaDB and the local Data API server, loopback only. Prints its seed,
 * then a table of faults, invocations, runs and violations per scenario; exits non-zero on any
 * violation, on a negative control that caught nothing, or on a scenario that broke.
 *
 *   npm run faults [-- --seed <n>] [--only <scenario>[,<scenario>…]] [--list]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startFleetEnvironment } from '../../src/fleet/environment.js';
import { ensureFaketime, type FaketimeStatus } from './faketime.js';
import { runScenario } from './run-scenario.js';
import { Verdict } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';
import { details, type ScenarioRow, summaryTable } from './summary.js';

const DEFAULT_SEED = 20261125;
const SCENARIO_LIMIT_MS = 4 * 60_000;

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

async function main(): Promise<number> {
  // The SDK's notice about Node 22 would be repeated in the middle of the report; it is not a fault.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({
    options: { seed: { type: 'string' }, only: { type: 'string' }, list: { type: 'boolean' } },
    strict: true,
  });
  if (values.list) {
    for (const scenario of SCENARIOS)
      log(`${scenario.name.padEnd(24)} ${scenario.catalogue.padEnd(14)} ${scenario.proves}`);
    return 0;
  }
  const seed = parseSeed(values.seed);
  const wanted = values.only?.split(',').map((name) => name.trim());
  const unknown = wanted?.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; --list shows them`);
  const selected = SCENARIOS.filter((scenario) => !wanted || wanted.includes(scenario.name));

  log(`lease-guard fault suite: seed ${seed} (replay with --seed ${seed}), ${selected.length} scenario(s)`);
  const environment = await startFleetEnvironment();
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
    await environment.stop();
  }
  log(`\n${summaryTable(rows, seed)}`);
  return rows.some((row) => row.verdict === Verdict.FAIL || row.verdict === Verdict.ERROR) ? 1 : 0;
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
