/**
 * Hostile requests against the local Data API server, property-based: arbitrary methods, paths,
 * headers and bodies (arbitrary JSON, invalid JSON, raw bytes, near-valid requests with wrong
 * types, hostile SQL and session-changing statements), and raw bytes that are not HTTP at all.
 * Each must get a modelled error (the status and `x-amzn-ErrorType` the SDK decodes) or a normal
 * answer, and after each one a lease claim through the real SDK must still work and commit.
 *
 * The server under test is a dedicated one with a single pooled connection over a scratch
 * database, so a request that leaves state on a connection is caught by the very next claim and
 * cannot touch the suite's own lease table.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import fc from 'fast-check';
import type { FleetEnvironment } from '../../../src/fleet/environment.js';
import { migrate } from '../../../src/lease/schema.js';
import { createSqlLeaseStore } from '../../../src/lease/sql-lease-store.js';
import { DATA_API_EXCEPTIONS, type DataApiServer, startDataApiServer } from '../../../src/local/data-api/index.js';
import { LOCAL_ARNS } from '../../../src/local/local-command.js';
import { createDataApiExecutor } from '../../../src/sql/data-api-executor.js';
import { createMysql2Executor } from '../../../src/sql/mysql2-executor.js';
import { hostileText, SQL_FRAGMENTS } from '../hostile.js';
import { compareSnapshots, snapshotLeases } from '../lease-snapshot.js';
import { checkProperty, combine } from '../property.js';
import type { Scenario } from '../scenario.js';

const TABLE = 'lease_guard';
const CANARY = 'canary';
const SEEDED_JOBS = ['seeded-a', 'seeded-b', 'seeded-c'] as const;
const REQUEST_TIMEOUT_MS = 10_000;
const ROUTES = [
  '/Execute',
  '/BatchExecute',
  '/BeginTransaction',
  '/CommitTransaction',
  '/RollbackTransaction',
  '/ExecuteSql',
];
// Headers that change how HTTP itself is framed; the property is about the service, not Node's parser.
const FRAMING = new Set([
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
  'expect',
  'upgrade',
  'te',
  'trailer',
]);

/** Statements that read or fail: never a write to the lease table. */
const STATEMENTS = [
  'SELECT 1',
  'SELECT :a',
  'SELECT :a, :b',
  `SELECT * FROM ${TABLE} WHERE job = :job`,
  'SELECT CAST(:a AS DATETIME(6))',
  'SHOW TABLES',
  `SELECT 1; DROP TABLE ${TABLE}`,
  `SELECT 1; UPDATE ${TABLE} SET fence = 0`,
  '',
  ' ',
  ...SQL_FRAGMENTS,
] as const;

/**
 * Statements that change only the session: they must not outlive the call that sent them. (The
 * sql_mode that changes how the claim assigns is sql-modes.ts's subject, not this one's.)
 */
const SESSION_STATEMENTS = [
  'BEGIN',
  'START TRANSACTION',
  'SET autocommit = 0',
  `LOCK TABLES ${TABLE} READ`,
  "SET time_zone = '+05:00'",
  'SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE',
] as const;

interface HttpAttempt {
  readonly kind: 'http';
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array;
}

interface RawAttempt {
  readonly kind: 'raw';
  readonly bytes: Uint8Array;
}

type Attempt = HttpAttempt | RawAttempt;

/** The expected value four times in five, anything else the fifth: near-valid requests reach deep into the server. */
function mostly<T>(usual: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: usual, weight: 4 }, { arbitrary: other, weight: 1 });
}

/** Absent (undefined) three times in four, unless `weight` says otherwise; present, the given value. */
function sometimes<T>(value: fc.Arbitrary<T>, weight = 1): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: value, weight });
}

/** Near-valid calls that run one session-changing statement outside any transaction. */
function sessionAttempts(database: string): fc.Arbitrary<HttpAttempt> {
  return fc.record({
    kind: fc.constant('http' as const),
    method: fc.constant('POST'),
    path: fc.constantFrom('/Execute', '/BatchExecute'),
    headers: fc.constant({ 'content-type': 'application/json' }),
    body: fc
      .tuple(fc.constantFrom(...SESSION_STATEMENTS), fc.boolean())
      .map(([sql, named]) =>
        JSON.stringify({ ...LOCAL_ARNS, ...(named ? { database } : {}), sql, parameterSets: [[]] }),
      ),
  });
}

function attempts(database: string): fc.Arbitrary<Attempt> {
  const parameter = fc.record(
    {
      name: fc.oneof(fc.constantFrom('a', 'b', 'job'), fc.string({ maxLength: 10 }), fc.anything()),
      value: fc.oneof(
        fc.anything(),
        fc.record({ stringValue: hostileText(50) }),
        fc.record({ longValue: fc.oneof(fc.integer(), fc.double()) }),
        fc.record({ isNull: fc.anything() }),
        fc.record({ blobValue: fc.string() }),
        fc.record({ arrayValue: fc.anything() }),
      ),
      typeHint: fc.oneof(
        fc.constantFrom('DATE', 'DECIMAL', 'JSON', 'TIME', 'TIMESTAMP', 'UUID'),
        fc.string({ maxLength: 8 }),
      ),
    },
    { requiredKeys: [] },
  );
  const nearValid = fc.record(
    {
      resourceArn: mostly(fc.constant(LOCAL_ARNS.resourceArn), fc.anything()),
      secretArn: mostly(fc.constant(LOCAL_ARNS.secretArn), fc.anything()),
      database: sometimes(mostly(fc.constant(database), fc.oneof(hostileText(70), fc.anything())), 3),
      sql: mostly(fc.constantFrom(...STATEMENTS), fc.oneof(hostileText(100), fc.anything())),
      parameters: sometimes(mostly(fc.array(parameter, { maxLength: 3 }), fc.anything())),
      parameterSets: sometimes(
        mostly(fc.array(fc.array(parameter, { maxLength: 2 }), { maxLength: 2 }), fc.anything()),
      ),
      transactionId: sometimes(fc.oneof(fc.string({ maxLength: 20 }), fc.anything())),
      includeResultMetadata: sometimes(mostly(fc.boolean(), fc.anything())),
      continueAfterTimeout: sometimes(mostly(fc.boolean(), fc.anything())),
      formatRecordsAs: sometimes(mostly(fc.constantFrom('NONE', 'JSON'), fc.anything())),
      resultSetOptions: sometimes(fc.anything()),
      schema: sometimes(fc.anything()),
    },
    // Absent members are undefined here and vanish in JSON.stringify.
  );
  const headerName = fc
    .oneof(
      fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
      fc.constantFrom('content-type', 'accept', 'authorization', 'x-amz-target', 'x-amz-date', 'content-encoding'),
    )
    .filter((name) => !FRAMING.has(name));
  const http: fc.Arbitrary<HttpAttempt> = fc.record({
    kind: fc.constant('http' as const),
    method: mostly(fc.constant('POST'), fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS')),
    path: fc.oneof(
      { arbitrary: fc.constant('/Execute'), weight: 6 },
      { arbitrary: fc.constantFrom(...ROUTES), weight: 3 },
      fc.constantFrom('/', '//Execute', '/a/b/Execute', '/Execute?x=1', '/Execute/', '/execute', '/%00'),
      fc.webPath(),
    ),
    headers: fc.dictionary(headerName, fc.string({ unit: 'grapheme-ascii', maxLength: 40 }), { maxKeys: 4 }),
    body: fc.oneof(
      { arbitrary: nearValid.map((value) => JSON.stringify(value) ?? ''), weight: 6 },
      fc.json(),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.uint8Array({ maxLength: 500 }),
    ),
  });
  const raw: fc.Arbitrary<RawAttempt> = fc.record({
    kind: fc.constant('raw' as const),
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      fc
        .constantFrom(
          'POST /Execute HTTP/1.1\r\nContent-Length: 99999\r\n\r\n{',
          'GARBAGE\r\n\r\n',
          'POST /Execute HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n',
          'POST /Execute HTTP/9.9\r\n\r\n',
          '\u0000\u0001\u0002',
        )
        .map((text) => new TextEncoder().encode(text)),
    ),
  });
  return fc.oneof({ arbitrary: http, weight: 9 }, { arbitrary: raw, weight: 1 });
}

interface Answer {
  readonly status: number;
  readonly errorType: string | undefined;
  readonly body: string;
}

function send(url: URL, attempt: HttpAttempt): Promise<Answer | string> {
  return new Promise((resolve) => {
    const body = typeof attempt.body === 'string' ? Buffer.from(attempt.body) : Buffer.from(attempt.body);
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: attempt.method,
        path: attempt.path,
        headers: { ...attempt.headers, 'content-length': String(body.length) },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const header = res.headers['x-amzn-errortype'];
          resolve({
            status: res.statusCode ?? 0,
            errorType: typeof header === 'string' ? header.split(':')[0] : undefined,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', (error) => resolve(`the answer broke off: ${error.message}`));
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer in time')));
    req.on('error', (error) => resolve(`no answer: ${error.message}`));
    req.end(body);
  });
}

/** Raw bytes: Node answers 400 or closes; either is fine, as long as the server lives on. */
function sendRaw(url: URL, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.end(bytes));
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('data', () => undefined);
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
}

/** What is wrong with an answer, or null: modelled errors only, with the status their model gives. */
function judge(answer: Answer): string | null {
  if (answer.status === 200) return null;
  const name = answer.errorType;
  if (name === undefined || !(name in DATA_API_EXCEPTIONS))
    return `status ${answer.status} without a modelled error type (${name})`;
  const status = DATA_API_EXCEPTIONS[name as keyof typeof DATA_API_EXCEPTIONS];
  if (answer.status !== status) return `${name} came with status ${answer.status}, not ${status}`;
  try {
    const parsed = JSON.parse(answer.body) as { message?: unknown };
    return typeof parsed.message === 'string' && parsed.message.length > 0 ? null : `${name} without a message`;
  } catch {
    return `${name} with a body that is not JSON: ${answer.body.slice(0, 80)}`;
  }
}

async function scratchDatabase(environment: FleetEnvironment, runId: string): Promise<string> {
  const name = `faults_api_${runId}`;
  await environment.executor.execute({ sql: `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4` });
  const url = new URL(environment.mysqlUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export const badDataApi: Scenario = {
  name: 'bad-data-api',
  catalogue: 'F10 (input)',
  proves:
    'Arbitrary requests and bytes against the local Data API get a modelled error and leave it serving: a lease claim after each one still wins and commits, and the lease table is unchanged.',
  async run(context) {
    const { environment } = context;
    const mysqlUrl = await scratchDatabase(environment, context.runId);
    const direct = createMysql2Executor({ url: mysqlUrl, connectionLimit: 1 });
    let server: DataApiServer | undefined;
    let client: RDSDataClient | undefined;
    try {
      await migrate(direct, TABLE);
      const seeding = createSqlLeaseStore({ executor: direct });
      for (const job of SEEDED_JOBS) {
        const claim = await seeding.claim({ job, holder: `seed-${job}`, leaseMs: 60_000 });
        if (claim.acquired && job !== 'seeded-c') {
          await seeding.release({ job, holder: `seed-${job}`, fence: claim.fence, outcome: 'success' });
        }
      }
      // One pooled connection: whatever a request leaves on it, the next claim runs into.
      server = await startDataApiServer({ mysqlUrl, connectionLimit: 1, log: () => undefined });
      client = new RDSDataClient({
        endpoint: server.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: 1,
      });
      const database = new URL(mysqlUrl).pathname.slice(1);
      const viaApi = createSqlLeaseStore({
        executor: createDataApiExecutor({ client, ...LOCAL_ARNS, database, timeoutMs: 5000 }),
      });
      const viaDirect = createSqlLeaseStore({ executor: direct });
      const url = new URL(server.url);
      const before = await snapshotLeases(direct, TABLE);
      let canaries = 0;

      async function canary(): Promise<string | null> {
        const holder = `canary-${++canaries}`;
        let claim: Awaited<ReturnType<typeof viaApi.claim>>;
        try {
          claim = await viaApi.claim({ job: CANARY, holder, leaseMs: 30_000 });
        } catch (error) {
          return `the next claim failed: ${(error as Error).message}`;
        }
        if (!claim.acquired) return `the next claim was refused (${claim.reason})`;
        const seen = await viaDirect.inspect(CANARY);
        if (seen?.holder !== holder || seen.fence !== claim.fence) {
          return `the next claim won fence ${claim.fence} but another connection sees holder ${seen?.holder} with fence ${seen?.fence}: it did not commit`;
        }
        try {
          if (!(await viaApi.release({ job: CANARY, holder, fence: claim.fence, outcome: 'success' }))) {
            return 'the next release changed nothing';
          }
        } catch (error) {
          return `the next release failed: ${(error as Error).message}`;
        }
        return null;
      }

      async function probe(attempt: Attempt): Promise<string | null> {
        if (attempt.kind === 'raw') {
          await sendRaw(url, attempt.bytes);
          return canary();
        }
        const answer = await send(url, attempt);
        if (typeof answer === 'string') return answer;
        // A transaction the fuzz opened would hold the only connection: end it.
        if (answer.status === 200 && attempt.path === '/BeginTransaction') {
          const { transactionId } = JSON.parse(answer.body) as { transactionId: string };
          await send(url, {
            ...attempt,
            path: '/RollbackTransaction',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ...LOCAL_ARNS, transactionId }),
          });
        }
        return judge(answer) ?? canary();
      }

      const quick = context.profile === 'quick';
      // A poisoned connection fails every later input: shrinking would only blur the culprit.
      const hostile = await checkProperty({ invariant: 'data-api', job: '-' }, attempts(database), probe, {
        seed: context.seed,
        numRuns: quick ? 150 : 500,
        endOnFailure: true,
      });
      // Last: a session statement that outlives its call leaves the connection poisoned for good.
      const session = await checkProperty(
        { invariant: 'data-api-session', job: '-' },
        sessionAttempts(database),
        probe,
        {
          seed: context.seed + 1,
          numRuns: quick ? 20 : 50,
          endOnFailure: true,
        },
      );
      const run = combine([hostile, session]);
      const after = await snapshotLeases(direct, TABLE);
      return {
        faults: run.tried,
        invocations: canaries,
        runs: canaries,
        violations: [...run.violations, ...compareSnapshots(before, after, (job) => job === CANARY)],
        notes: [
          `${hostile.tried} hostile requests and bytes, then ${session.tried} session-changing statements, each followed by a lease claim and release through the SDK`,
        ],
      };
    } finally {
      client?.destroy();
      await server?.close();
      await direct.execute({ sql: `DROP DATABASE IF EXISTS \`${new URL(mysqlUrl).pathname.slice(1)}\`` });
      await direct.close();
    }
  },
};
