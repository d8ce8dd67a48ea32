import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LeaseGuardError } from '../errors.js';

export interface MysqlInstallation {
  readonly flavor: 'mariadb' | 'mysql';
  /** The server binary: `mariadbd` or `mysqld`. */
  readonly server: string;
  /** `mariadb-install-db` for MariaDB; MySQL initialises with `mysqld --initialize-insecure`. */
  readonly installDb: string | undefined;
}

const SEARCH_DIRS = [
  '/usr/sbin',
  '/usr/bin',
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/local/mysql/bin',
  '/opt/homebrew/bin',
];

function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH_DIRS];
  return dirs.map((dir) => join(dir, name)).find((path) => existsSync(path));
}

/** Finds an installed MariaDB or MySQL server; undefined when there is none. */
export function findMysqlInstallation(): MysqlInstallation | undefined {
  const mariadbd = which('mariadbd');
  if (mariadbd) {
    return { flavor: 'mariadb', server: mariadbd, installDb: which('mariadb-install-db') ?? which('mysql_install_db') };
  }
  const mysqld = which('mysqld');
  if (!mysqld) return undefined;
  const version = spawnSync(mysqld, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /mariadb/i.test(version)
    ? { flavor: 'mariadb', server: mysqld, installDb: which('mariadb-install-db') ?? which('mysql_install_db') }
    : { flavor: 'mysql', server: mysqld, installDb: undefined };
}

function isDebianLike(): boolean {
  try {
    const osRelease = readFileSync('/etc/os-release', 'utf8');
    return /^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(osRelease);
  } catch {
    return false;
  }
}

/** No server binary, and none could be installed: what callers with an embedded fallback look for. */
export class NoMysqlServerError extends LeaseGuardError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NoMysqlServerError';
  }
}

export const INSTALL_HINT =
  'Install a MariaDB or MySQL server (Debian/Ubuntu: sudo apt-get install -y mariadb-server; macOS: brew install mariadb), or set LEASE_GUARD_MYSQL_URL=mysql://user:password@host:port/database to use a running server.';

/**
 * Finds a server, or installs `mariadb-server` through apt-get when this is a Debian or Ubuntu
 * machine and we run as root (saying so on stderr). Anywhere else: one clear error with the command.
 */
export function ensureMysqlInstallation(
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): MysqlInstallation {
  const found = findMysqlInstallation();
  if (found) return found;
  if (process.platform === 'linux' && process.getuid?.() === 0 && isDebianLike()) {
    log('lease-guard: no mariadbd or mysqld found; installing mariadb-server with apt-get (one time, about a minute)…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', ['update', '-qq'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      execFileSync('apt-get', ['install', '-y', '-qq', 'mariadb-server'], {
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    } catch (error) {
      throw new NoMysqlServerError(`Installing mariadb-server with apt-get failed. ${INSTALL_HINT}`, { cause: error });
    }
    const installed = findMysqlInstallation();
    if (installed) {
      log(`lease-guard: installed ${installed.server}`);
      return installed;
    }
  }
  throw new NoMysqlServerError(`No MariaDB or MySQL server found (looked for mariadbd and mysqld). ${INSTALL_HINT}`);
}
