/**
 * libfaketime for the database clock scenarios. The full run installs Debian's `faketime` when it
 * is missing and it runs as root on Debian or Ubuntu, and says so; anywhere else the clock
 * scenarios report "not run", never "passed".
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export type FaketimeStatus = { readonly available: true } | { readonly available: false; readonly reason: string };

function installed(): boolean {
  return spawnSync('sh', ['-c', 'command -v faketime'], { stdio: 'ignore' }).status === 0;
}

function aptGet(args: readonly string[], log: (line: string) => void): boolean {
  const result = spawnSync('apt-get', args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 180_000,
  });
  if (result.status !== 0)
    log(`apt-get ${args.join(' ')} failed: ${(result.stderr || result.error?.message || '').trim()}`);
  return result.status === 0;
}

/** Finds faketime, or installs it where that is allowed; `install: false` only looks. */
export function ensureFaketime(options: { install: boolean; log: (line: string) => void }): FaketimeStatus {
  if (installed()) return { available: true };
  if (!options.install)
    return { available: false, reason: 'faketime is not installed (this profile never installs it)' };
  const debian = existsSync('/etc/debian_version');
  const root = process.getuid?.() === 0;
  if (!debian || !root) {
    return {
      available: false,
      reason: `faketime is not installed and cannot be installed here (${debian ? 'not root' : 'not Debian or Ubuntu'}); install it with: apt-get install faketime`,
    };
  }
  options.log('faketime (libfaketime) is missing; installing it: apt-get install -y faketime (root on Debian/Ubuntu)');
  // The package lists may be missing in a fresh container: update once and try again.
  const ok =
    aptGet(['install', '-y', '--no-install-recommends', 'faketime'], options.log) ||
    (aptGet(['update'], options.log) && aptGet(['install', '-y', '--no-install-recommends', 'faketime'], options.log));
  if (ok && installed()) return { available: true };
  return { available: false, reason: 'apt-get could not install faketime' };
}

/** The wrapper and environment that start the database with its wall clock moved by `offsetMs`. */
export function faketimeWrapper(offsetMs: number): { wrapper: string[]; env: NodeJS.ProcessEnv } {
  const seconds = Math.round(offsetMs / 1000);
  return {
    wrapper: ['faketime', '-f', `${seconds >= 0 ? '+' : ''}${seconds}s`],
    // Only the wall clock moves: InnoDB's timers and the server's waits keep real time.
    env: { FAKETIME_DONT_FAKE_MONOTONIC: '1' },
  };
}
