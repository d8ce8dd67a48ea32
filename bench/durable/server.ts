/**
 * The durable-commit database for the burst profile: a throwaway MariaDB/MySQL with
 * innodb_flush_log_at_trx_commit=1, the binary log on (ROW, MySQL 8's default) with sync_binlog=1,
 * and every fsync slowed by a preloaded shim (slow-fsync.c) so a commit costs what a storage
 * quorum would rather than what this machine's disk does. A statement that changes no row commits
 * no redo and no binlog, so it pays no fsync: exactly the difference a loser's write makes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startThrowawayMysql, type ThrowawayMysql } from '../../src/local/throwaway-mysql.js';

const DURABLE_ARGS = [
  '--innodb-flush-log-at-trx-commit=1',
  '--log-bin=binlog',
  '--binlog-format=ROW',
  '--sync-binlog=1',
  '--server-id=1',
];

export interface DurableDatabase {
  readonly server: ThrowawayMysql;
  /** Microseconds each fsync waits; 0 when the shim could not be built (no C compiler). */
  readonly fsyncDelayUs: number;
  stop(): Promise<void>;
}

/** Builds the shim with the system C compiler; undefined when there is none. */
function buildShim(dir: string): string | undefined {
  const source = fileURLToPath(new URL('./slow-fsync.c', import.meta.url));
  const library = join(dir, 'slow-fsync.so');
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', library, source, '-ldl'], { stdio: 'ignore' });
    return library;
  } catch {
    return undefined;
  }
}

export async function startDurableDatabase(fsyncDelayUs: number, database: string): Promise<DurableDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'lease-guard-bench-shim-'));
  const shim = buildShim(dir);
  // The throwaway server's own arguments come first; these, appended by the wrapper, override them.
  const server = await startThrowawayMysql({
    database,
    wrapper: ['sh', '-c', `exec "$@" ${DURABLE_ARGS.join(' ')}`, 'sh'],
    env: shim ? { LD_PRELOAD: shim, LG_FSYNC_DELAY_US: String(fsyncDelayUs) } : {},
  });
  return {
    server,
    fsyncDelayUs: shim ? fsyncDelayUs : 0,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
