/**
 * The server's side of MySQL: one mysql2 pool per (database, row-count mode), what it knows about
 * the server (flavour, bytes per character of each collation), and `KILL` for timeouts and shutdown.
 */
import mysql from 'mysql2/promise';
import { LeaseGuardError } from '../../errors.js';
import { badRequest, databaseError } from './errors.js';

/** How `numberOfRecordsUpdated` counts: rows an UPDATE matched (JDBC's default) or rows it changed. */
export type RowsCount = 'matched' | 'changed';

export interface ServerInfo {
  readonly flavor: 'mariadb' | 'mysql';
  readonly maxBytesPerChar: ReadonlyMap<number, number>;
}

export interface Database {
  readonly info: ServerInfo;
  /** The database a request without `database` uses: the URL's, or none. */
  readonly defaultDatabase: string | undefined;
  /** A connection for one call or one transaction; the caller releases or destroys it. */
  connect(database: string | undefined, rowsCount: RowsCount): Promise<mysql.PoolConnection>;
  /** Stops the statement running on a connection (`query`) or ends the connection, from a separate one. */
  kill(threadId: number, scope: 'query' | 'connection'): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  readonly mysqlUrl: string;
  /** Connections per pool. */
  readonly connectionLimit: number;
}

// Unquoted MySQL identifiers only: the name is sent in the handshake, never spliced into SQL.
const DATABASE_NAME = /^[A-Za-z0-9_$]{1,64}$/;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const url = new URL(options.mysqlUrl);
  const defaultDatabase = decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined;
  const pools = new Map<string, mysql.Pool>();

  function poolFor(database: string | undefined, rowsCount: RowsCount): mysql.Pool {
    const key = `${database ?? ''}/${rowsCount}`;
    let pool = pools.get(key);
    if (!pool) {
      pool = mysql.createPool({
        uri: options.mysqlUrl,
        database,
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
        decimalNumbers: false,
        jsonStrings: true,
        rowsAsArray: true,
        multipleStatements: false,
        connectionLimit: options.connectionLimit,
        // CLIENT_FOUND_ROWS makes affectedRows count matched rows, as JDBC drivers do by default.
        flags: rowsCount === 'matched' ? ['FOUND_ROWS'] : ['-FOUND_ROWS'],
      });
      // Aurora runs in UTC; TIMESTAMP columns then read the same here.
      pool.pool.on('connection', (connection) => {
        connection.query("SET time_zone = '+00:00'");
      });
      pools.set(key, pool);
    }
    return pool;
  }

  async function connect(database: string | undefined, rowsCount: RowsCount): Promise<mysql.PoolConnection> {
    const name = database ?? defaultDatabase;
    if (name !== undefined && !DATABASE_NAME.test(name)) throw badRequest(`Invalid database name: ${name}`);
    try {
      return await poolFor(name, rowsCount).getConnection();
    } catch (error) {
      throw databaseError(error);
    }
  }

  async function adminQuery<T>(sql: string): Promise<T> {
    const connection = await mysql.createConnection({ uri: options.mysqlUrl, supportBigNumbers: true });
    try {
      const [rows] = await connection.query(sql);
      return rows as T;
    } finally {
      await connection.end();
    }
  }

  let info: ServerInfo;
  try {
    const [version] = await adminQuery<{ version: string }[]>('SELECT VERSION() AS version');
    const charsets = await adminQuery<{ id: number; maxlen: number }[]>(
      'SELECT c.ID AS id, s.MAXLEN AS maxlen FROM information_schema.COLLATIONS c JOIN information_schema.CHARACTER_SETS s ON s.CHARACTER_SET_NAME = c.CHARACTER_SET_NAME',
    );
    info = {
      flavor: /mariadb/i.test(version?.version ?? '') ? 'mariadb' : 'mysql',
      maxBytesPerChar: new Map(charsets.map((row) => [Number(row.id), Number(row.maxlen)])),
    };
  } catch (error) {
    throw new LeaseGuardError(`The local Data API server cannot reach MySQL at ${redact(url)}.`, { cause: error });
  }

  return {
    info,
    defaultDatabase,
    connect,
    async kill(threadId, scope) {
      await adminQuery(`KILL ${scope === 'query' ? 'QUERY' : 'CONNECTION'} ${Number(threadId)}`);
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((pool) => pool.end()));
    },
  };
}

/** The URL without its password, for messages. */
export function redact(url: URL): string {
  const copy = new URL(url);
  if (copy.password) copy.password = '***';
  return copy.toString();
}
