import Table from 'cli-table3';
import type { Command } from 'commander';
import type { LeaseState } from '../../lease/lease-store.js';
import { createSqlLeaseStore } from '../../lease/sql-lease-store.js';
import { type ConnectionOptions, connect, withConnectionOptions } from '../connect.js';

interface StatusOptions extends ConnectionOptions {
  readonly json?: boolean;
}

/** `lease-guard status`: every job's lease, on the database clock. */
export function registerStatusCommand(program: Command): void {
  withConnectionOptions(
    program
      .command('status')
      .description('show every job: holder, owner, fencing token, when the lease ends, last tick done, runs, failures')
      .option('--json', 'print the rows as JSON'),
  ).action(async function statusAction(options: StatusOptions) {
    const executor = connect(options);
    try {
      const states = await createSqlLeaseStore({ executor, table: options.table }).list();
      process.stdout.write(options.json ? `${JSON.stringify(states, null, 2)}\n` : renderStatus(states));
    } finally {
      await executor.close();
    }
  });
}

/** "in 42s", "2m ago": a lease end relative to the database's now. */
export function relative(ms: number): string {
  const abs = Math.abs(ms);
  const text =
    abs < 1_000
      ? `${Math.round(abs)}ms`
      : abs < 120_000
        ? `${Math.round(abs / 1_000)}s`
        : abs < 7_200_000
          ? `${Math.round(abs / 60_000)}m`
          : `${Math.round(abs / 3_600_000)}h`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export function renderStatus(states: readonly LeaseState[]): string {
  if (states.length === 0) return 'No jobs yet: the table is empty until a guarded handler first claims.\n';
  const table = new Table({
    head: ['job', 'holder', 'owner', 'fence', 'lease ends', 'last tick done', 'runs', 'failures', 'last error'],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [null, 28, null, null, null, null, null, null, 30],
  });
  for (const s of states) {
    const ends = s.held ? relative(s.leaseUntil.getTime() - s.dbNow.getTime()) : 'free';
    table.push([
      s.job,
      s.holder ?? '',
      s.owner ?? '',
      String(s.fence),
      ends,
      s.tickDone?.toISOString() ?? '',
      String(s.runs),
      String(s.failures),
      s.lastError ?? '',
    ]);
  }
  return `${table.toString()}\n`;
}
