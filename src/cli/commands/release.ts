import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { LeaseGuardError } from '../../errors.js';
import { assertJobName } from '../../lease/names.js';
import { createSqlLeaseStore } from '../../lease/sql-lease-store.js';
import { type ConnectionOptions, connect, withConnectionOptions } from '../connect.js';

interface ReleaseOptions extends ConnectionOptions {
  readonly yes?: boolean;
}

/** `lease-guard release <job>`: force-free a job's lease, fencing its holder out. */
export function registerReleaseCommand(program: Command): void {
  withConnectionOptions(
    program
      .command('release')
      .description(
        "force-release a job's lease now; bumps its fencing token so the old holder's writes and release are refused",
      )
      .argument('<job>', 'the job name')
      .option('-y, --yes', 'do not ask for confirmation'),
  ).action(async function releaseAction(job: string, options: ReleaseOptions) {
    assertJobName(job, 'job');
    const executor = connect(options);
    try {
      const store = createSqlLeaseStore({ executor, table: options.table });
      const before = await store.inspect(job);
      if (!before) throw new LeaseGuardError(`no job named ${job} in table ${options.table}.`);
      if (!options.yes) await confirm(job, before.holder);
      await store.forceRelease(job);
      const after = await store.inspect(job);
      process.stdout.write(
        `Released ${job}${before.holder ? ` (was held by ${before.holder})` : ''}; fencing token is now ${after?.fence}.\n`,
      );
    } finally {
      await executor.close();
    }
  });
}

async function confirm(job: string, holder: string | null): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new LeaseGuardError('refusing to release without confirmation; run it in a terminal or pass --yes.');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const held = holder ? `, now held by ${holder}` : '';
    const answer = await rl.question(`Force-release ${job}${held}? Its current run will be fenced out. [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new LeaseGuardError('not released.');
  } finally {
    rl.close();
  }
}
