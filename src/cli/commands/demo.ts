import { type Command, InvalidArgumentError } from 'commander';
import { LEASE_ENV } from '../../constants.js';
import { DemoInterruptedError, runDemo } from '../../fleet/demo-run.js';
import { DEMO_LIMITS } from '../../fleet/demo-scenario.js';
import { onStopRequest } from '../../local/stop-requests.js';
import { parseMysqlUrl } from '../connect.js';

interface DemoCommandOptions {
  readonly ticks: number;
  readonly regions: number;
  readonly seed?: number;
  readonly mysqlUrl?: string;
  readonly html?: string;
  readonly json?: boolean;
  readonly failover?: boolean;
}

/** Exit code when the run finished and an invariant broke (1 is for errors, 130 for Ctrl-C). */
const INVARIANT_BROKEN = 2;

/** `lease-guard demo`: a fleet of regions invoking real guarded handlers under faults, and the invariants checked. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'simulate regions invoking a guarded per-tick job and an affinity job in separate processes, with duplicate, late, replayed and forged events, a holder killed mid-run, the database paused, a lost response, a skewed invoker clock and the owner region going dark; then check that no two runs overlapped and no tick ran twice (exit code 2 if an invariant broke)',
    )
    .option(
      '--ticks <n>',
      `schedule ticks (${DEMO_LIMITS.ticks.min} to ${DEMO_LIMITS.ticks.max})`,
      parseInteger,
      DEMO_LIMITS.ticks.default,
    )
    .option(
      '--regions <n>',
      `regions (${DEMO_LIMITS.regions.min} to ${DEMO_LIMITS.regions.max})`,
      parseInteger,
      DEMO_LIMITS.regions.default,
    )
    .option('--seed <n>', 'seed of the schedule of duplicates and faults (default: random, printed)', parseInteger)
    .option(
      '--mysql-url <url>',
      `use this MySQL/MariaDB server instead of a throwaway one (same as ${LEASE_ENV.MYSQL_URL})`,
      parseMysqlUrl,
    )
    .option('--html <file>', 'also write the timeline as a self-contained HTML chart')
    .option('--json', 'print the summary as JSON on stdout; progress and the timeline go to stderr')
    .option(
      '--failover',
      "then a failover act: the database's region goes down (a global database stand-in: two MariaDB servers in replication); the timeline shows the quarantine and the job running again",
    )
    .action(async function demoAction(options: DemoCommandOptions) {
      const out = options.json ? process.stderr : process.stdout;
      const controller = new AbortController();
      // First request (Ctrl-C, SIGTERM, SIGHUP, parent gone): stop the run and clean up. Second: leave
      // now (exit hooks still kill the children; the database's reaper deletes its directory).
      const dispose = onStopRequest((reason) => {
        if (controller.signal.aborted) process.exit(130);
        process.stderr.write(`lease-guard demo: ${reason}, stopping every process...\n`);
        controller.abort();
      });
      try {
        const result = await runDemo({
          ticks: options.ticks,
          regions: options.regions,
          ...(options.seed === undefined ? {} : { seed: options.seed }),
          ...(options.mysqlUrl ? { mysqlUrl: options.mysqlUrl } : {}),
          ...(options.html ? { htmlPath: options.html } : {}),
          // The act runs inside the demo, before the HTML is written, so the page shows it too.
          ...(options.failover ? { failover: true } : {}),
          signal: controller.signal,
          print: (line) => out.write(`${line}\n`),
        });
        if (options.json) process.stdout.write(`${JSON.stringify(result.summary, null, 2)}\n`);
        if (!result.summary.ok) process.exitCode = INVARIANT_BROKEN;
        if (result.failover && !result.failover.ok) process.exitCode = INVARIANT_BROKEN;
      } catch (error) {
        if (!(error instanceof DemoInterruptedError)) throw error;
        process.stderr.write(`lease-guard demo: ${error.message}.\n`);
        process.exitCode = 130;
      } finally {
        dispose();
      }
    });
}

function parseInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number.');
  return Number(value);
}
