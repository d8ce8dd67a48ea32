/**
 * The negative control's broken claim, injected at the executor seam the workers really use: a
 * loopback proxy in front of the local Data API server that forwards every call unchanged except
 * the claim, whose "lease still held" refusal it deletes. The claim then still checks the tick,
 * but any contender wins while another holds the lease: the bug a hand-written claim can have.
 * src/lease is untouched; the workers only see another AWS_ENDPOINT_URL_RDS_DATA.
 */
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { claimSql } from '../../src/lease/sql.js';

const LEASE_HELD_REFUSAL = 'WHEN lease_until > UTC_TIMESTAMP(6) THEN 1';

/**
 * The claim without its lease condition, wherever the verdict is computed. Throws if the
 * protocol's text no longer has it, so the control never silently tests the real claim.
 */
export function brokenClaimSql(table: string): string {
  const sql = claimSql(table);
  if (!sql.includes(LEASE_HELD_REFUSAL)) {
    throw new Error(`the claim SQL no longer contains "${LEASE_HELD_REFUSAL}"; update the negative control`);
  }
  return sql.replaceAll(LEASE_HELD_REFUSAL, '');
}

export interface BrokenClaimProxy {
  readonly url: string;
  /** Claims rewritten so far: a control that rewrote none proved nothing. */
  readonly rewrites: number;
  close(): Promise<void>;
}

export async function startBrokenClaimProxy(target: string, table: string): Promise<BrokenClaimProxy> {
  const real = claimSql(table);
  const broken = brokenClaimSql(table);
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
        if (parsed.sql === real) {
          parsed.sql = broken;
          rewrites++;
          body = Buffer.from(JSON.stringify(parsed));
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
