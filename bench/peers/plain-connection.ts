/**
 * A plain mysql2 connection per environment for the raw peers, driven through mysql2's callback
 * API: its promise wrapper captures a stack trace per call, which would not be a floor.
 */
import mysql, { type Connection, type ResultSetHeader } from 'mysql2';

export interface PlainConnection {
  execute(sql: string, params: unknown[] | Record<string, unknown>): Promise<ResultSetHeader>;
  end(): Promise<void>;
}

export function plainConnection(url: string): Promise<PlainConnection> {
  return new Promise((resolve, reject) => {
    const connection: Connection = mysql.createConnection({ uri: url, namedPlaceholders: true });
    connection.connect((error) => {
      if (error) return reject(error);
      resolve({
        execute: (sql, params) =>
          new Promise((done, fail) => {
            connection.execute<ResultSetHeader>(sql, params as never, (e, result) => (e ? fail(e) : done(result)));
          }),
        end: () => new Promise((done) => connection.end(() => done())),
      });
    });
  });
}

/** The environments' plain connections: each opened on its first use, all ended together. */
export interface PlainConnections {
  /** A connection opener for one environment. */
  lazy(): () => Promise<PlainConnection>;
  endAll(): Promise<void>;
}

export function plainConnections(url: string): PlainConnections {
  const opened: PlainConnection[] = [];
  return {
    lazy() {
      let connecting: Promise<PlainConnection> | undefined;
      return () => {
        connecting ??= plainConnection(url).then((c) => {
          opened.push(c);
          return c;
        });
        return connecting;
      };
    },
    async endAll() {
      await Promise.all(opened.splice(0).map((c) => c.end().catch(() => undefined)));
    },
  };
}
