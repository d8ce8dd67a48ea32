import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { startThrowawayMysql } from '../../src/local/throwaway-mysql.js';

async function answers(url: string): Promise<boolean> {
  try {
    const connection = await mysql.createConnection({ uri: url, connectTimeout: 1_000 });
    await connection.end();
    return true;
  } catch {
    return false;
  }
}

describe('throwaway MariaDB/MySQL server', () => {
  it('starts in UTC, restarts under a wrapper that forks, and a kill stops the real server', async () => {
    const db = await startThrowawayMysql({ database: 'throwaway_test' });
    try {
      const connection = await mysql.createConnection({ uri: db.url });
      const [rows] = await connection.query('SELECT @@global.time_zone AS tz, DATABASE() AS db');
      await connection.end();
      expect(rows).toEqual([{ tz: '+00:00', db: 'throwaway_test' }]);

      // Like faketime, this wrapper runs the server as its child instead of exec'ing it.
      await db.restart({ wrapper: ['sh', '-c', '"$@" & wait', 'sh'] });
      expect(await answers(db.url)).toBe(true);
      await db.kill();
      expect(await answers(db.url)).toBe(false);
    } finally {
      await db.stop();
    }
  });
});
