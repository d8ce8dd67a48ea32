import Table from 'cli-table3';
import { type Command, InvalidArgumentError } from 'commander';
import { LeaseGuardError } from '../../errors.js';
import { type CompletionLag, completionLag } from '../../lease/lag.js';
import type { LeaseState } from '../../lease/lease-store.js';
import { assertJobName } from '../../lease/names.js';
import { createSqlLeaseStore } from '../../lease/sql-lease-store.js';
import { type ConnectionOptions, connect, readFailure, withConnectionOptions, withTimeoutOption } from '../connect.js';
import { duration, parseDuration, relative, since } from '../format.js';

interface StatusOptions extends ConnectionOptions {
  readonly json?: boolean;
  readonly period?: number;
  readonly periods: number;
  readonly timeout: number;
}

/** Exit codes of `status` (1 is for errors). */
export const STATUS_EXIT = { OK: 0, ERROR: 1, OVERDUE: 2 } as const;

/** `lease-guard status [job…]`: jobs' leases, on the database clock. */
export function registerStatusCommand(program: Command): void {
  withTimeoutOption(
    withConnectionOptions(
      program
        .command('status')
        .description(
          'show jobs (all, or those named): holder, owner, fencing token, when the lease ends, the last tick done and how long ago, runs, failures, the last error and when',
        )
        .argument('[jobs...]', 'only these jobs')
        .option('--json', 'print the rows as JSON (with lagMs, overdue and running)')
        .option(
          '--period <duration>',
          "the schedule's period (e.g. 5m, 1h, 90s): marks a job OVERDUE when no tick completed for --periods of them",
          parseDuration,
        )
        .option('--periods <n>', 'periods without a completed tick before a job is overdue', parsePeriods, 2)
        .addHelpText(
          'after',
          `
Exit codes:
  ${STATUS_EXIT.OK}  every job shown is on time (or no --period was given)
  ${STATUS_EXIT.ERROR}  the status could not be read (nothing was changed: status only reads)
  ${STATUS_EXIT.OVERDUE}  a job shown is OVERDUE (see --period)`,
        ),
    ),
  ).action(async function statusAction(jobs: string[], options: StatusOptions) {
    for (const job of jobs) assertJobName(job, 'job');
    const executor = connect(options);
    let all: LeaseState[];
    try {
      all = await createSqlLeaseStore({ executor, table: options.table }).list({
        signal: AbortSignal.timeout(options.timeout),
      });
    } catch (error) {
      throw readFailure(error, 'status', options.timeout);
    } finally {
      await executor.close();
    }
    const unknown = jobs.filter((job) => !all.some((state) => state.job === job));
    if (unknown.length > 0) {
      const known = all.length > 0 ? ` (its jobs: ${all.map((state) => state.job).join(', ')})` : '';
      throw new LeaseGuardError(`no job named ${unknown.join(', ')} in table ${options.table}${known}.`);
    }
    const states = jobs.length > 0 ? all.filter((state) => jobs.includes(state.job)) : all;
    const lag = (state: LeaseState): CompletionLag =>
      completionLag(state, {
        ...(options.period === undefined ? {} : { periodMs: options.period }),
        periods: options.periods,
      });
    process.stdout.write(
      options.json
        ? `${JSON.stringify(
            states.map((state) => ({ ...state, ...lag(state), running: running(state) })),
            null,
            2,
          )}\n`
        : renderStatus(states, lag, terminalColumns()),
    );
    if (states.some((state) => lag(state).overdue)) process.exitCode = STATUS_EXIT.OVERDUE;
  });
}

function parsePeriods(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0)) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

/** The terminal's width; undefined when stdout is not a terminal (a pipe, a file: the wide table). */
function terminalColumns(): number | undefined {
  const { columns } = process.stdout;
  return columns > 0 ? columns : undefined;
}

/** A holder runs now: its lease is live (a lease kept by `minHold` has no holder). */
function running(state: LeaseState): boolean {
  return state.held && state.holder !== null;
}

/** Long values wrap inside their cell instead of being cut. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  for (let at = 0; at < text.length; at += width) lines.push(text.slice(at, at + width));
  return lines.join('\n');
}

const HOLDER_WIDTH = 40;
const ERROR_WIDTH = 40;

/** One job's cells, as words; the wide and the narrow layouts arrange them. */
interface Cells {
  readonly ends: string;
  readonly done: readonly string[];
  readonly runs: string;
  readonly error: string;
  readonly overdue: boolean;
}

function cells(s: LeaseState, lag: (state: LeaseState) => CompletionLag): Cells {
  const ends = s.held
    ? `${s.holder === null ? 'kept (minHold) ' : ''}${relative(s.leaseUntil.getTime() - s.dbNow.getTime())}`
    : 'free';
  const { lagMs, overdue } = lag(s);
  // A job that ran without ticks (lease only), or whose runs all failed, has no tick done; when it
  // last let go of the lease is still true and useful.
  const done = s.tickDone
    ? [s.tickDone.toISOString(), ...(lagMs === null ? [] : [`${duration(lagMs)} ago`])]
    : s.runs === 0
      ? ['never ran']
      : ['no tick recorded', ...(s.releasedAt ? [`last released ${since(s.releasedAt, s.dbNow)}`] : [])];
  // `runs` counts claims, the one in progress included: say so instead of counting it as done.
  const runs = running(s) ? `${s.runs - 1} + 1 running` : String(s.runs);
  const error =
    s.lastError === null
      ? ''
      : `${s.lastErrorAt ? `${since(s.lastErrorAt, s.dbNow)}: ` : ''}${s.lastError.replace(/\s+/g, ' ')}`;
  return { ends, done, runs, error, overdue };
}

/**
 * The jobs as a table, or, when `columns` is given and the table is wider, one block per job that
 * fits the terminal.
 */
export function renderStatus(
  states: readonly LeaseState[],
  lag: (state: LeaseState) => CompletionLag = (state) => completionLag(state),
  columns?: number,
): string {
  if (states.length === 0) return 'No jobs yet: the table is empty until a guarded handler first claims.\n';
  const wide = renderTable(states, lag);
  const width = Math.max(...wide.split('\n').map((line) => line.length));
  return columns === undefined || width <= columns ? wide : renderBlocks(states, lag, columns);
}

function renderTable(states: readonly LeaseState[], lag: (state: LeaseState) => CompletionLag): string {
  const table = new Table({
    head: ['job', 'holder', 'owner', 'fence', 'lease ends', 'last tick done', 'runs', 'failures', 'last error'],
    style: { head: [], border: [] },
  });
  for (const s of states) {
    const c = cells(s, lag);
    table.push([
      s.job,
      s.holder ? wrap(s.holder, HOLDER_WIDTH) : '',
      s.owner ?? '',
      String(s.fence),
      c.ends,
      [...c.done, ...(c.overdue ? ['OVERDUE'] : [])].join('\n'),
      c.runs,
      String(s.failures),
      wrap(c.error, ERROR_WIDTH),
    ]);
  }
  return `${table.toString()}\n`;
}

const LABEL_WIDTH = 12;

/** The narrow layout: a heading line per job, then one labelled line per value, wrapped to fit. */
function renderBlocks(states: readonly LeaseState[], lag: (state: LeaseState) => CompletionLag, columns: number) {
  const valueWidth = Math.max(16, columns - 2 - LABEL_WIDTH);
  const blocks = states.map((s) => {
    const c = cells(s, lag);
    const lines = [`${s.job}${c.overdue ? '  OVERDUE' : ''}`];
    const field = (label: string, value: string): void => {
      if (value === '') return;
      wrap(value, valueWidth)
        .split('\n')
        .forEach((piece, index) => {
          lines.push(`  ${(index === 0 ? label : '').padEnd(LABEL_WIDTH)}${piece}`);
        });
    };
    field('holder', s.holder ?? '');
    field('owner', s.owner ?? '');
    field('fence', String(s.fence));
    field('lease ends', c.ends);
    field('last tick', c.done.join(', '));
    field('runs', c.runs);
    field('failures', String(s.failures));
    field('last error', c.error);
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}
