/**
 * libfaketime for the database clock scenarios. `npm test` (its global setup) and the full fault
 * run install Debian's `faketime` when it is missing and they run as root on Debian or Ubuntu, and
 * say so; anywhere else the clock scenarios report "not run", never "passed".
 *
 * The library is preloaded into the server directly (LD_PRELOAD) rather than through the
 * `faketime` command: that command forks and waits, so killing it (a crash, a restart) would
 * leave the real server running on its port with the stepped clock.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export type FaketimeStatus =
  | { readonly available: true; readonly library: string }
  | { readonly available: false; readonly reason: string };

const LIBRARY = join('faketime', 'libfaketime.so.1');

/** Where Debian and Ubuntu put the library (a multiarch directory), or elsewhere under /usr. */
function findLibrary(): string | undefined {
  const roots = ['/usr/lib', '/usr/local/lib', '/usr/lib64'];
  for (const root of roots) {
    if (existsSync(join(root, LIBRARY))) return join(root, LIBRARY);
    const multiarch = existsSync(root) ? readdirSync(root).filter((entry) => entry.endsWith('-linux-gnu')) : [];
    for (const dir of multiarch) if (existsSync(join(root, dir, LIBRARY))) return join(root, dir, LIBRARY);
  }
  return undefined;
}

function aptGet(args: readonly string[], log: (line: string) => void): boolean {
  // Wait for another apt-get or dpkg (say, a second test run installing the same package) instead of
  // failing at once on its lock.
  const result = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=120', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 180_000,
  });
  if (result.status !== 0)
    log(`apt-get ${args.join(' ')} failed: ${(result.stderr || result.error?.message || '').trim()}`);
  return result.status === 0;
}

/** Finds libfaketime, or installs it where that is allowed; `install: false` only looks. */
export function ensureFaketime(options: { install: boolean; log: (line: string) => void }): FaketimeStatus {
  const found = findLibrary();
  if (found) return { available: true, library: found };
  if (!options.install)
    return { available: false, reason: 'libfaketime is not installed (install it with: apt-get install faketime)' };
  const debian = existsSync('/etc/debian_version');
  const root = process.getuid?.() === 0;
  if (!debian || !root) {
    return {
      available: false,
      reason: `libfaketime is not installed and cannot be installed here (${debian ? 'not root' : 'not Debian or Ubuntu'}); install it with: apt-get install faketime`,
    };
  }
  options.log('libfaketime is missing; installing it with apt-get install -y faketime (root on Debian/Ubuntu)');
  const install = ['install', '-y', '--no-install-recommends', 'faketime'];
  // The package lists may be missing in a fresh container: update once and try again.
  const ok = aptGet(install, options.log) || (aptGet(['update'], options.log) && aptGet(install, options.log));
  const library = ok ? findLibrary() : undefined;
  return library ? { available: true, library } : { available: false, reason: 'apt-get could not install faketime' };
}

/** The environment that starts the database with its wall clock moved by `offsetMs`. */
export function faketimeEnv(library: string, offsetMs: number): NodeJS.ProcessEnv {
  const seconds = Math.round(offsetMs / 1000);
  return {
    LD_PRELOAD: library,
    FAKETIME: `${seconds >= 0 ? '+' : ''}${seconds}s`,
    // Only the wall clock moves: InnoDB's timers and the server's waits keep real time.
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
}
