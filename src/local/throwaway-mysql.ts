import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { leaseEnv } from '../env.js';
import { LeaseGuardError } from '../errors.js';
import { assertTableName } from '../lease/names.js';
import { ensureMysqlInstallation, type MysqlInstallation } from './find-mysql.js';

const execFileAsync = promisify(execFile);

export interface LocalDatabase {
  /** `mysql://root@127.0.0.1:PORT/DATABASE`. */
  readonly url: string;
  readonly database: string;
  /** Creates another database on the same server and returns its URL (isolates test files). */
  createDatabase(name: string): Promise<string>;
  /** Stops a throwaway server and deletes its data; leaves an external server alone. */
  stop(): Promise<void>;
}

export interface ThrowawayMysql extends LocalDatabase {
  readonly flavor: MysqlInstallation['flavor'];
  readonly port: number;
  /** Everything the server writes (data, temporary files, socket, log); deleted by `stop()`. */
  readonly dataDir: string;
  /** The server process id, for fault injection (SIGSTOP/SIGCONT). */
  readonly pid: number | undefined;
  /**
   * How the server process ended when it is not running (`exited with SIGKILL`), for saying what
   * went away; undefined while it runs.
   */
  readonly exitStatus: string | undefined;
  /** Kills the server (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts the server again on the same data and port, optionally under a wrapper such as faketime. */
  restart(options?: { wrapper?: readonly string[]; env?: NodeJS.ProcessEnv }): Promise<void>;
}

export interface ThrowawayOptions {
  /** @default 'lease_guard' */
  readonly database?: string;
  /** A running server to use instead of a throwaway one (`openLocalDatabase` only). @default - LEASE_GUARD_MYSQL_URL */
  readonly mysqlUrl?: string | undefined;
  /** A command to start the server under, e.g. `['faketime', '-f', '+7s']`. */
  readonly wrapper?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** How long to wait for the server to accept connections. @default 60000 */
  readonly readyTimeoutMs?: number;
  readonly log?: (line: string) => void;
  /** More server options, after the defaults so they win (e.g. `--log-bin`, `--server-id` for replication). */
  readonly serverArgs?: readonly string[];
}

/**
 * The database the tests, the demo and `lease-guard local` use: the server at `mysqlUrl` (or
 * LEASE_GUARD_MYSQL_URL) when given, else a throwaway one started from the installed binary.
 */
export async function openLocalDatabase(options: ThrowawayOptions = {}): Promise<LocalDatabase> {
  const url = options.mysqlUrl || leaseEnv('MYSQL_URL');
  if (!url) return startThrowawayMysql(options);
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || (options.database ?? 'lease_guard');
  const base = new URL(url);
  base.pathname = '/';
  await createDatabaseAt(base.toString(), database);
  parsed.pathname = `/${database}`;
  return {
    url: parsed.toString(),
    database,
    createDatabase: (name) => createDatabaseAt(base.toString(), name),
    async stop() {},
  };
}

async function createDatabaseAt(serverUrl: string, name: string): Promise<string> {
  assertTableName(name, 'database');
  const connection = await mysql.createConnection({ uri: serverUrl });
  try {
    await connection.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4`);
  } finally {
    await connection.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A watchdog outside this process, in its own session (so Ctrl-C and a closed terminal do not reach
 * it): once the owner process is gone, however it ended (SIGKILL and SIGHUP run no exit handler),
 * it kills the server's process group and deletes the data directory. Arguments: owner pid, server
 * process group, data directory. Every wait is bounded.
 */
const REAPER_SCRIPT = [
  'while kill -s 0 "$1" 2>/dev/null; do sleep 0.2; done',
  'kill -s CONT -- -"$2" 2>/dev/null; kill -s KILL -- -"$2" 2>/dev/null',
  'n=0; while kill -s 0 -- -"$2" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done',
  'rm -rf "$3"',
].join('\n');

function startReaper(serverGroup: number, dataDir: string): ChildProcess {
  const reaper = spawn(
    'sh',
    ['-c', REAPER_SCRIPT, 'lease-guard-reaper', String(process.pid), String(serverGroup), dataDir],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
  reaper.on('error', () => undefined); // no sh: the exit hook below still kills the server
  reaper.unref();
  return reaper;
}

const MYSQL8_SQL_MODE =
  'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

/** Starts a private MariaDB or MySQL server in a temporary directory on a free loopback port. */
export async function startThrowawayMysql(options: ThrowawayOptions = {}): Promise<ThrowawayMysql> {
  const install = ensureMysqlInstallation(options.log);
  const database = options.database ?? 'lease_guard';
  assertTableName(database, 'database');
  // Everything the server writes lives under one directory: data, temporary files (a shared /tmp
  // lets servers initialised side by side delete each other's temporary tables), socket, logs.
  const dataDir = await mkdtemp(join(tmpdir(), 'lease-guard-db-'));
  const dirs = [`--datadir=${join(dataDir, 'data')}`, `--tmpdir=${join(dataDir, 'tmp')}`];
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  try {
    await mkdir(join(dataDir, 'tmp'));
    if (install.flavor === 'mariadb') {
      if (!install.installDb) throw new LeaseGuardError('mariadb-install-db was not found beside mariadbd.');
      await execFileAsync(install.installDb, [
        '--no-defaults',
        ...dirs,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        ...asRoot,
      ]);
    } else {
      await execFileAsync(install.server, ['--no-defaults', '--initialize-insecure', ...dirs, ...asRoot]);
    }
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw new LeaseGuardError(`Could not initialise a data directory with ${install.server}.`, { cause: error });
  }

  const port = await freePort();
  const args = [
    '--no-defaults',
    ...dirs,
    `--socket=${join(dataDir, 'mysqld.sock')}`,
    `--pid-file=${join(dataDir, 'mysqld.pid')}`,
    `--log-error=${join(dataDir, 'error.log')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--default-time-zone=+00:00',
    `--sql-mode=${install.flavor === 'mariadb' ? `${MYSQL8_SQL_MODE},TIME_ROUND_FRACTIONAL` : MYSQL8_SQL_MODE}`,
    '--character-set-server=utf8mb4',
    '--innodb-buffer-pool-size=64M',
    '--innodb-flush-log-at-trx-commit=2',
    '--max-connections=1000',
    ...(install.flavor === 'mysql' ? ['--skip-log-bin', '--mysqlx=OFF'] : ['--skip-log-bin']),
    ...asRoot,
    ...(options.serverArgs ?? []),
  ];
  const serverUrl = `mysql://root@127.0.0.1:${port}/`;
  let child: ChildProcess | undefined;
  let reaper: ChildProcess | undefined;

  async function launch(wrapper: readonly string[] = [], env?: NodeJS.ProcessEnv): Promise<void> {
    const [command, ...rest] = [...wrapper, install.server, ...args] as [string, ...string[]];
    // Its own process group, so a signal reaches the server even when a wrapper (faketime) forked it.
    const started = spawn(command, rest, { stdio: 'ignore', env: { ...process.env, ...env }, detached: true });
    child = started;
    reaper?.kill('SIGKILL');
    if (started.pid !== undefined) reaper = startReaper(started.pid, dataDir);
    let exited: string | undefined;
    started.once('exit', (code, signal) => {
      exited = `exited with ${signal ?? code}`;
    });
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    for (let attempt = 0; ; attempt++) {
      if (exited) throw new LeaseGuardError(`${install.server} ${exited} before it was ready. ${await logTail()}`);
      try {
        const connection = await mysql.createConnection({ uri: serverUrl, connectTimeout: 1000 });
        await connection.end();
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          signalGroup(started, 'SIGKILL');
          throw new LeaseGuardError(`${install.server} did not accept connections in time. ${await logTail()}`, {
            cause: error,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(25 * 2 ** attempt, 200)));
      }
    }
  }

  async function logTail(): Promise<string> {
    const log = await readFile(join(dataDir, 'error.log'), 'utf8').catch(() => '');
    return log ? `Last lines of its log:\n${log.trim().split('\n').slice(-8).join('\n')}` : '';
  }

  function signalGroup(running: ChildProcess, signal: NodeJS.Signals): void {
    try {
      if (running.pid !== undefined) process.kill(-running.pid, signal);
    } catch {
      running.kill(signal); // the group is gone already; the leader may not be
    }
  }

  async function terminate(signal: NodeJS.Signals): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    signalGroup(running, 'SIGCONT'); // a paused server cannot shut down
    signalGroup(running, signal);
    await exited;
  }

  // On exit, the server goes at once; the reaper then deletes the data directory.
  const stopHook = (): void => {
    if (child) signalGroup(child, 'SIGKILL');
  };
  process.once('exit', stopHook);
  let url: string;
  try {
    await launch(options.wrapper, options.env);
    url = await createDatabaseAt(serverUrl, database);
  } catch (error) {
    process.removeListener('exit', stopHook);
    await terminate('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
    reaper?.kill('SIGKILL');
    throw error;
  }

  return {
    url,
    database,
    flavor: install.flavor,
    port,
    dataDir,
    get pid() {
      return child?.pid;
    },
    get exitStatus() {
      if (!child) return 'never started';
      if (child.exitCode === null && child.signalCode === null) return undefined;
      return `exited with ${child.signalCode ?? child.exitCode}`;
    },
    createDatabase: (name) => createDatabaseAt(serverUrl, name),
    kill: () => terminate('SIGKILL'),
    async restart(restartOptions = {}) {
      await terminate('SIGTERM');
      await launch(restartOptions.wrapper, restartOptions.env);
    },
    async stop() {
      process.removeListener('exit', stopHook);
      await terminate('SIGTERM');
      await rm(dataDir, { recursive: true, force: true });
      // Its work is done; left running, it would signal a process group whose id may be reused.
      reaper?.kill('SIGKILL');
    },
  };
}
