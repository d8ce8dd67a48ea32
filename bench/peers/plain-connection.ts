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
