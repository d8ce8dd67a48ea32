/**
 * A loopback proxy in front of a local Data API server that forwards every call, rewriting the
 * SQL text of ExecuteStatement calls with a function: a negative control changes the protocol at
 * the seam the workers really use, leaving src/lease untouched.
 */
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SqlRewriteProxy {
  readonly url: string;
  /** Statements the rewrite changed so far: a control that changed none proved nothing. */
  readonly rewrites: number;
  close(): Promise<void>;
}

export async function startSqlRewriteProxy(target: string, rewrite: (sql: string) => string): Promise<SqlRewriteProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  let rewrites = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.url?.endsWith('/Execute')) {
        const parsed = JSON.parse(body.toString('utf8')) as { sql?: unknown };
        if (typeof parsed.sql === 'string') {
          const changed = rewrite(parsed.sql);
          if (changed !== parsed.sql) {
            parsed.sql = changed;
            rewrites++;
            body = Buffer.from(JSON.stringify(parsed));
          }
        }
      }
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host, 'content-length': String(body.length) },
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      // The server dropped the answer (a fault hook): drop ours too, as the service would.
      forward.on('error', () => res.socket?.destroy());
      res.on('close', () => forward.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get rewrites() {
      return rewrites;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
