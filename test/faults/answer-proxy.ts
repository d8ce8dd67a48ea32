/**
 * A loopback proxy in front of the local Data API server that holds back the ANSWER of chosen
 * statements: the statement reaches the database at once and commits, its answer arrives late.
 * (The server's own latency hook waits before running the call, which is a different fault.)
 */
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AnswerProxy {
  readonly url: string;
  /** Answers held back so far. */
  readonly delayed: number;
  close(): Promise<void>;
}

export async function startAnswerProxy(target: string, rule: { match: RegExp; delayMs: number }): Promise<AnswerProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  let delayed = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let hold = 0;
      if (req.url?.endsWith('/Execute')) {
        const sql = (JSON.parse(body.toString('utf8')) as { sql?: unknown }).sql;
        if (typeof sql === 'string' && rule.match.test(sql)) {
          hold = rule.delayMs;
          delayed++;
        }
      }
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
          agent,
        },
        (answer) => {
          const answerChunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => answerChunks.push(chunk));
          answer.on('end', () => {
            const timer = setTimeout(() => {
              timers.delete(timer);
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(answerChunks));
            }, hold);
            timers.add(timer);
          });
        },
      );
      forward.on('error', () => res.socket?.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get delayed() {
      return delayed;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
