/** What the burst parent and its processes say over IPC (JSON serialization). */
import type { BodyPlan, FleetJobConfig, HandlerAnswer } from '../../src/fleet/messages.js';

/** The variable a burst process reads its configuration from. */
export const BURST_ENV = 'LEASE_GUARD_FAULTS_BURST';

export interface BurstConfig {
  readonly region: string;
  readonly jobs: readonly FleetJobConfig[];
}

export interface BurstInvocation {
  readonly invocationId: string;
  readonly job: string;
  readonly event: unknown;
  readonly requestId: string;
  readonly timeoutMs: number;
  readonly body: BodyPlan;
}

/** Parent to process: start these invocations now, all at once. */
export interface BurstMessage {
  readonly type: 'round';
  readonly invocations: readonly BurstInvocation[];
}

/** Process to parent. */
export type BurstReport =
  | { readonly type: 'ready' }
  | { readonly type: 'body-start'; readonly invocationId: string; readonly fence: number; readonly holder: string }
  | { readonly type: 'body-end'; readonly invocationId: string }
  | { readonly type: 'finished'; readonly invocationId: string; readonly answer: HandlerAnswer };
