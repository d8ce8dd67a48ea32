import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createHistory } from '../../src/fleet/history.js';
import { createNemeses, signalProcess } from '../../src/fleet/nemeses.js';
import type { ThrowawayMysql } from '../../src/local/throwaway-mysql.js';

/** A process that has exited and been reaped: its pid names nobody now. */
async function goneProcess(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid as number;
}

describe('signalling processes that may be gone', () => {
  it('reports a process that is already gone instead of throwing ESRCH', async () => {
    expect(signalProcess(await goneProcess(), 'SIGCONT')).toBe(false);
    expect(signalProcess(process.pid, 'SIGCONT')).toBe(true);
  });

  it('names the database server that went away when a pause cannot reach it', async () => {
    const pid = await goneProcess();
    const server = {
      pid,
      flavor: 'mariadb',
      port: 40123,
      dataDir: '/tmp/lease-guard-mysql-test',
      exitStatus: 'exited with SIGKILL',
    } as unknown as ThrowawayMysql;
    const nemeses = createNemeses({ history: createHistory([]), database: server });
    await expect(nemeses.pauseDatabase(1000)).rejects.toThrow(
      `the database server (mariadb, pid ${pid}, port 40123) went away before it could be paused (exited with SIGKILL); its log is /tmp/lease-guard-mysql-test/error.log`,
    );
  });
});
