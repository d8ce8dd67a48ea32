import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { LeaseGuardError, LeaseStoreError } from '../../errors.js';
import type { LeaseState } from '../../lease/lease-store.js';
import { assertJobName } from '../../lease/names.js';
import { createSqlLeaseStore } from '../../lease/sql-lease-store.js';
import { type ConnectionOptions, connect, readFailure, withConnectionOptions, withTimeoutOption } from '../connect.js';
import { duration, relative, since } from '../format.js';

interface ReleaseOptions extends ConnectionOptions {
  readonly yes?: boolean;
  readonly bumpFence?: boolean;
  readonly timeout: number;
}

/** Asks the operator a question and resolves with the answer; a terminal by default. */
export type Ask = (question: string) => Promise<string>;

/** Exit codes of `release` (1 is for errors and a declined prompt). */
export const RELEASE_EXIT = { DONE: 0, ERROR: 1, CHANGED: 3 } as const;

/** `lease-guard release <job>`: force-free a job's lease, fencing its holder out. */
export function registerReleaseCommand(program: Command, ask: Ask = askInTerminal): void {
  withTimeoutOption(
    withConnectionOptions(
      program
        .command('release')
        .description(
          "force-release a job's lease now: shows who holds it, asks, then frees it only if the same holder and fencing token still hold it; bumps the fencing token so the old holder's writes and release are refused",
        )
        .argument('<job>', 'the job name')
        .option('-y, --yes', 'do not ask for confirmation')
        .option(
          '--bump-fence',
          'also when the lease is free: bump its fencing token, so a holder whose lease ended (and may still write) is fenced out',
        )
        .addHelpText(
          'after',
          `
Exit codes:
  ${RELEASE_EXIT.DONE}  released, or nothing to release (the lease is free)
  ${RELEASE_EXIT.ERROR}  an error, or the answer was not yes
  ${RELEASE_EXIT.CHANGED}  the lease changed hands between showing it and acting: nothing was released`,
        ),
    ),
  ).action(async function releaseAction(job: string, options: ReleaseOptions) {
    assertJobName(job, 'job');
    const executor = connect(options);
    const deadline = (): { signal: AbortSignal } => ({ signal: AbortSignal.timeout(options.timeout) });
    const out = (line: string): void => {
      process.stdout.write(`${line}\n`);
    };
    try {
      const store = createSqlLeaseStore({ executor, table: options.table });
      let shown: LeaseState | undefined;
      try {
        shown = await store.inspect(job, deadline());
      } catch (error) {
        throw readFailure(error, 'release', options.timeout);
      }
      if (!shown) throw new LeaseGuardError(`no job named ${job} in table ${options.table}.`);
      out(describe(shown));
      if (!shown.held && !options.bumpFence) {
        out(`Nothing to release: the lease is free. (--bump-fence bumps its fencing token anyway.)`);
        return;
      }
      if (!options.yes) await confirm(ask, shown);
      // Keyed on what was shown: a holder that finished and a new one that claimed meanwhile are
      // left alone (lease-store.ts, ForceReleaseRequest).
      let released: boolean;
      try {
        released = await store.forceRelease({ job, holder: shown.holder, fence: shown.fence }, deadline());
      } catch (error) {
        if (error instanceof LeaseStoreError && error.ambiguous) {
          throw new LeaseGuardError(
            `the release got no answer; it may still have been applied. Run \`lease-guard status ${job}\` to see.`,
            { cause: error },
          );
        }
        throw error;
      }
      if (released) {
        const was = shown.holder ? ` (was held by ${shown.holder}, fence ${shown.fence})` : '';
        out(`Released ${job}${was}; fencing token is now ${shown.fence + 1}.`);
        return;
      }
      const now = await store.inspect(job, deadline());
      process.stderr.write(
        `lease-guard: not released: ${job} changed after it was shown: ${changes(shown, now)}. Run the command again to act on what it shows now.\n`,
      );
      process.exitCode = RELEASE_EXIT.CHANGED;
    } finally {
      await executor.close();
    }
  });
}

/** Who holds the lease, with its fence, tick and since when, as the operator is asked about it. */
export function describe(s: LeaseState): string {
  const fence = `fence ${s.fence}`;
  if (s.held && s.holder !== null) {
    const tick = s.tick ? `, tick ${s.tick.toISOString()}` : ', no tick';
    const claimed = s.claimedAt ? `, since ${since(s.claimedAt, s.dbNow)}` : '';
    return `${s.job} is held by ${s.holder} (${fence}${tick}${claimed}); the lease ends ${relative(s.leaseUntil.getTime() - s.dbNow.getTime())}.`;
  }
  if (s.held) {
    return `${s.job} has no holder but is kept ${duration(s.leaseUntil.getTime() - s.dbNow.getTime())} more after its last run (minHold; ${fence}).`;
  }
  const ended = s.leaseUntil.getTime() > 0 ? ` since ${duration(s.dbNow.getTime() - s.leaseUntil.getTime())}` : '';
  const stale = s.holder !== null ? `; its last holder ${s.holder} never released it (crashed or timed out)` : '';
  return `${s.job} is free${ended} (${fence}${stale}).`;
}

/** What differs between the row shown and the row now, in words. */
function changes(shown: LeaseState, now: LeaseState | undefined): string {
  if (!now) return 'its row is gone';
  const parts: string[] = [];
  if (now.holder !== shown.holder) {
    parts.push(
      now.holder === null
        ? `${shown.holder ?? 'its holder'} released it`
        : `it is now held by ${now.holder}${now.claimedAt ? ` (claimed ${since(now.claimedAt, now.dbNow)})` : ''}`,
    );
  }
  if (now.fence !== shown.fence) parts.push(`the fencing token is ${now.fence}, was ${shown.fence}`);
  return parts.length > 0 ? parts.join('; ') : 'its holder and fencing token changed and changed back';
}

async function confirm(ask: Ask, shown: LeaseState): Promise<void> {
  const fenced = shown.holder !== null ? ` ${shown.holder} will be fenced out.` : '';
  const answer = await ask(`Force-release ${shown.job} (fence ${shown.fence})?${fenced} [y/N] `);
  if (!/^y(es)?$/i.test(answer.trim())) throw new LeaseGuardError('not released.');
}

async function askInTerminal(question: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new LeaseGuardError('refusing to release without confirmation; run it in a terminal or pass --yes.');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}
