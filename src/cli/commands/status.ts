import Table from 'cli-table3';
import { type Command, InvalidArgumentError } from 'commander';
import { type CompletionLag, completionLag } from '../../lease/lag.js';
import type { LeaseState } from '../../lease/lease-store.js';
import { createSqlLeaseStore } from '../../lease/sql-lease-store.js';
import { type ConnectionOptions, connect, withConnectionOptions } from '../connect.js';

interface StatusOptions extends ConnectionOptions {
  readonly json?: boolean;
  readonly period?: number;
  readonly periods: number;
}

/** `lease-guard status`: every job's lease, on the database clock. */
export function registerStatusCommand(program: Command): void {
  withConnectionOptions(
    program
      .command('status')
      .description(
        'show every job: holder, owner, fencing token, when the lease ends, the last tick done and how long ago, runs, failures, the last error and when',
      )
      .option('--json', 'print the rows as JSON (with lagMs and overdue)')
      .option(
        '--period <duration>',
        "the schedule's period (e.g. 5m, 1h, 90s): marks a job OVERDUE when no tick completed for --periods of them",
        parseDuration,
      )
      .option('--periods <n>', 'periods without a completed tick before a job is overdue', parsePeriods, 2),
  ).action(async function statusAction(options: StatusOptions) {
    const executor = connect(options);
    try {
      const states = await createSqlLeaseStore({ executor, table: options.table }).list();
      const lag = (state: LeaseState): CompletionLag =>
        completionLag(state, {
          ...(options.period === undefined ? {} : { periodMs: options.period }),
          periods: options.periods,
        });
      process.stdout.write(
        options.json
          ? `${JSON.stringify(
              states.map((state) => ({ ...state, ...lag(state) })),
              null,
              2,
            )}\n`
          : renderStatus(states, lag),
      );
    } finally {
      await executor.close();
    }
  });
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  const ms = match ? Number(match[1]) * (UNITS[match[2] as string] as number) : Number.NaN;
  if (!(ms > 0)) throw new InvalidArgumentError('expected a duration like 90s, 5m, 1h or 1d.');
  return ms;
}

function parsePeriods(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0)) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

/** "42s", "2m", "3h": a duration, rounded to the unit that reads best. */
function duration(ms: number): string {
  const abs = Math.abs(ms);
  return abs < 1_000
    ? `${Math.round(abs)}ms`
    : abs < 120_000
      ? `${Math.round(abs / 1_000)}s`
      : abs < 7_200_000
        ? `${Math.round(abs / 60_000)}m`
        : abs < 172_800_000
          ? `${Math.round(abs / 3_600_000)}h`
          : `${Math.round(abs / 86_400_000)}d`;
}

/** "in 42s", "2m ago": a time relative to the database's now. */
export function relative(ms: number): string {
  return ms >= 0 ? `in ${duration(ms)}` : `${duration(ms)} ago`;
}

/** Long values wrap inside their cell instead of being cut. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  for (let at = 0; at < text.length; at += width) lines.push(text.slice(at, at + width));
  return lines.join('\n');
}

const HOLDER_WIDTH = 40;
const ERROR_WIDTH = 40;

export function renderStatus(
  states: readonly LeaseState[],
  lag: (state: LeaseState) => CompletionLag = (state) => completionLag(state),
): string {
  if (states.length === 0) return 'No jobs yet: the table is empty until a guarded handler first claims.\n';
  const table = new Table({
    head: ['job', 'holder', 'owner', 'fence', 'lease ends', 'last tick done', 'runs', 'failures', 'last error'],
    style: { head: [], border: [] },
  });
  for (const s of states) {
    const now = s.dbNow.getTime();
    const ends = s.held ? relative(s.leaseUntil.getTime() - now) : 'free';
    const { lagMs, overdue } = lag(s);
    const done = s.tickDone
      ? `${s.tickDone.toISOString()}\n${lagMs === null ? '' : `${duration(lagMs)} ago`}`
      : 'never';
    const error =
      s.lastError === null
        ? ''
        : `${s.lastErrorAt ? `${relative(s.lastErrorAt.getTime() - now)}: ` : ''}${s.lastError.replace(/\s+/g, ' ')}`;
    table.push([
      s.job,
      s.holder ? wrap(s.holder, HOLDER_WIDTH) : '',
      s.owner ?? '',
      String(s.fence),
      ends,
      overdue ? `${done}\nOVERDUE` : done,
      String(s.runs),
      String(s.failures),
      wrap(error, ERROR_WIDTH),
    ]);
  }
  return `${table.toString()}\n`;
}
