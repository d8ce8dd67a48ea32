/**
 * What one invocation of a real middy stack emitted: stdout/stderr lines (Powertools Logger JSON,
 * EMF documents, input-output-logger, error-logger) and the X-Ray documents the Tracer sent to a
 * local UDP "daemon". The Lambda-like environment (X-Ray's Lambda mode, a trace id per
 * invocation) is set before the Tracer is imported.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { format } from 'node:util';
import { vi } from 'vitest';
import { createEngine } from '../../src/guard/engine.js';
import { ExecutionModel } from '../../src/guard/execution.js';
import { type LeaseGuardOptions, parseLeaseGuardOptions } from '../../src/guard/options.js';
import type { GuardedRun } from '../../src/guard/run.js';

export interface XRayDocument {
  readonly name: string;
  readonly trace_id: string;
  readonly parent_id?: string;
  readonly type?: string;
  readonly end_time?: number;
}

export interface Emitted {
  /** JSON lines from stdout and stderr. */
  readonly stdout: Record<string, unknown>[];
  readonly stderr: string[];
  /** Plain (non-JSON) stdout lines, e.g. console.log of an object. */
  readonly text: string[];
}

export interface XRayDaemon {
  readonly address: string;
  readonly documents: XRayDocument[];
  close(): Promise<void>;
}

/** A UDP listener standing in for the X-Ray daemon on 127.0.0.1. */
export async function startXRayDaemon(): Promise<XRayDaemon> {
  const socket: Socket = createSocket('udp4');
  const documents: XRayDocument[] = [];
  socket.on('message', (message) => {
    // `{"format":"json","version":1}\n{document}`
    const body = message.toString('utf8').split('\n')[1];
    if (body) documents.push(JSON.parse(body) as XRayDocument);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return {
    address: `127.0.0.1:${port}`,
    documents,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** Sets what the Lambda runtime sets, before Powertools Tracer (and X-Ray's SDK) is imported. */
export function lambdaEnvironment(daemon: XRayDaemon): void {
  Object.assign(process.env, {
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
    LAMBDA_TASK_ROOT: '/var/task',
    _HANDLER: 'index.handler',
    AWS_XRAY_DAEMON_ADDRESS: daemon.address,
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    AWS_LAMBDA_FUNCTION_NAME: 'nightly-report',
    POWERTOOLS_SERVICE_NAME: 'invoices',
  });
  delete process.env.POWERTOOLS_DEV;
}

/** A new trace for the next invocation, as the runtime sets `_X_AMZN_TRACE_ID`. */
export function newTrace(): string {
  const root = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  process.env._X_AMZN_TRACE_ID = `Root=${root};Parent=${randomBytes(8).toString('hex')};Sampled=1`;
  return root;
}

/** Runs `invoke` while capturing stdout and stderr; returns its result (or error) and the lines. */
export async function captureOutput<T>(
  invoke: () => Promise<T>,
): Promise<{ result: T | undefined; error: unknown; emitted: Emitted }> {
  const out: string[] = [];
  const err: string[] = [];
  const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  // vitest intercepts the global console, which middy's loggers (input-output, error) write to.
  const line =
    (into: string[]) =>
    (...args: unknown[]) => {
      into.push(`${format(...args)}\n`);
    };
  const logSpy = vi.spyOn(console, 'log').mockImplementation(line(out));
  const consoleErrorSpy = vi.spyOn(console, 'error').mockImplementation(line(err));
  let result: T | undefined;
  let error: unknown;
  try {
    result = await invoke();
  } catch (e) {
    error = e;
  } finally {
    for (const spy of [outSpy, errSpy, logSpy, consoleErrorSpy]) spy.mockRestore();
  }
  const stdout: Record<string, unknown>[] = [];
  const text: string[] = [];
  // Powertools Logger writes WARN and ERROR to stderr.
  for (const line of [...out, ...err].join('').split('\n').filter(Boolean)) {
    try {
      stdout.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      text.push(line);
    }
  }
  return { result, error, emitted: { stdout, text, stderr: err.join('').split('\n').filter(Boolean) } };
}

/** lease-guard's own log lines. */
export function guardLines(emitted: Emitted): Record<string, unknown>[] {
  return emitted.stdout.filter((line) => line.message === 'lease-guard');
}

export interface EmfDocument {
  readonly _aws: {
    readonly CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
  };
  readonly [key: string]: unknown;
}

export function emfDocuments(emitted: Emitted): EmfDocument[] {
  return emitted.stdout.filter((line) => '_aws' in line) as unknown as EmfDocument[];
}

/**
 * The negative control: lease-guard's middleware as it was before issue 15, releasing only in its
 * own `after`/`onError`, built from the same guard. Whatever stops middy's chain before those
 * decides what it records.
 */
export function releaseInAfterMiddleware(options: LeaseGuardOptions) {
  const guard = createEngine(parseLeaseGuardOptions(options), { model: ExecutionModel.LAMBDA });
  const held = new WeakMap<object, GuardedRun>();
  type AnyRequest = { event: unknown; context: { awsRequestId?: string; lease?: unknown }; error?: unknown };
  return {
    before: async (request: AnyRequest) => {
      const decision = await guard.begin({
        event: request.event,
        context: { awsRequestId: request.context.awsRequestId },
      });
      if ('skipped' in decision) return decision.skipped;
      held.set(request, decision.run);
      request.context.lease = decision.run.lease;
      return undefined;
    },
    after: async (request: AnyRequest) => {
      const lease = held.get(request);
      held.delete(request);
      if (lease) await lease.settle({ ok: true });
    },
    onError: async (request: AnyRequest) => {
      const lease = held.get(request);
      held.delete(request);
      if (lease) await lease.settle({ ok: false, error: request.error });
    },
  };
}
