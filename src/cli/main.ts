/**
 * The `lease-guard` command. Each subcommand lives in its own file under `commands/` and registers
 * itself here. User mistakes end in one line on stderr and exit code 1, never a stack trace.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerDemoCommand } from './commands/demo.js';
import { registerLocalCommand } from './commands/local.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { type Ask, registerReleaseCommand } from './commands/release.js';
import { registerStatusCommand } from './commands/status.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** What the commands ask a human through; tests answer in the operator's place. */
export interface CliIo {
  /** Asks for a confirmation. @default - a prompt on the terminal (refused without one) */
  readonly ask?: Ask;
}

export function createProgram(io: CliIo = {}): Command {
  const program = new Command('lease-guard')
    .description('Guard scheduled Lambda jobs with a one-UPDATE lease on Aurora MySQL through the RDS Data API.')
    .version(version)
    .showHelpAfterError('(run lease-guard --help for usage)')
    // Before the commands are added, so they inherit it: `status --help` ends in main like every
    // other exit, with its code, instead of calling process.exit.
    .exitOverride();
  registerStatusCommand(program);
  registerReleaseCommand(program, io.ask);
  registerMigrateCommand(program);
  registerLocalCommand(program);
  registerDemoCommand(program);
  return program;
}

/** Runs the command line; sets `process.exitCode` instead of exiting, so output is flushed. */
export async function main(argv: readonly string[] = process.argv, io: CliIo = {}): Promise<void> {
  // The AWS SDK prints an 8-line notice about Node versions on every command; a user who wants it
  // can still set the variable to 'false'. The demo's workers inherit it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'node' });
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

function reportError(error: unknown): number {
  // Commander has already printed its own message (unknown option, bad argument, --help).
  if (error instanceof CommanderError) return error.exitCode;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`lease-guard: ${message}${hint(message)}\n`);
  return 1;
}

/** The flag that fixes an error the AWS SDK words without one. */
function hint(message: string): string {
  if (/Region is missing/i.test(message)) {
    return ' Pass --region (or set LEASE_GUARD_REGION or AWS_REGION), or give a --resource-arn that names its region.';
  }
  return '';
}
