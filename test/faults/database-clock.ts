/**
 * The database clock nemesis: a restart of the throwaway server (killed, then up again, as a
 * failover would) with libfaketime preloaded to move its wall clock, recorded in the history.
 */
import type { FleetEnvironment } from '../../src/fleet/environment.js';
import type { HistoryRecorder } from '../../src/fleet/history.js';
import type { ThrowawayMysql } from '../../src/local/throwaway-mysql.js';
import { faketimeEnv } from './faketime.js';
import type { NotRun, ScenarioContext } from './scenario.js';

/** The server to restart and the libfaketime to preload into it. */
export interface DatabaseClock {
  readonly server: ThrowawayMysql;
  readonly library: string;
}

/** The clock nemesis where it can run: the suite's own server and libfaketime; else why not. */
export async function databaseClock(context: ScenarioContext): Promise<DatabaseClock | NotRun> {
  const server = context.environment.throwaway;
  if (!server) return { notRun: 'database faults need the throwaway server (LEASE_GUARD_MYSQL_URL is set)' };
  const faketime = await context.faketime();
  if (!faketime.available) return { notRun: faketime.reason };
  return { server, library: faketime.library };
}

/** Restarts the server with its clock `offsetMs` from real time (0: real time again). */
export async function restartWithClock(
  history: HistoryRecorder,
  clock: DatabaseClock,
  offsetMs: number,
): Promise<void> {
  const end = history.beginNemesis(
    'database-clock',
    'database',
    offsetMs === 0 ? 'restart on real time' : `restart with the clock ${offsetMs > 0 ? '+' : ''}${offsetMs / 1000} s`,
  );
  try {
    await clock.server.kill();
    await clock.server.restart(offsetMs === 0 ? {} : { env: faketimeEnv(clock.library, offsetMs) });
  } finally {
    end();
  }
}

/** The database's clock minus ours: the offset actually in force. */
export async function databaseOffset(environment: FleetEnvironment): Promise<number> {
  const before = Date.now();
  const now = await environment.databaseNow();
  return now.getTime() - (before + Date.now()) / 2;
}
