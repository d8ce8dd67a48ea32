/** What the abandoned-body scenario and its sandbox process (frozen-sandbox.ts) say to each other. */

export const SANDBOX_ENV = 'LEASE_GUARD_FROZEN_SANDBOX';

export interface SandboxConfig {
  readonly mysqlUrl: string;
  readonly table: string;
  readonly job: string;
  /** `leaseGuarded` (the wrapper) or the `leaseGuard` middleware. */
  readonly shape: 'wrapper' | 'middleware';
  /** middy's default early timeout (5 ms), or a custom `timeoutEarlyResponse` that answers early. */
  readonly response: 'default' | 'value' | 'throw';
  readonly keepEnvironment: boolean;
  readonly leaseMarginMs: number;
  readonly releaseTimeoutMs: number;
}

export type SandboxMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'body-start' }
  | { readonly type: 'alive' }
  | { readonly type: 'answered'; readonly how: 'returned' | 'threw'; readonly detail: string };

export interface SandboxInvoke {
  readonly type: 'invoke';
  readonly event: unknown;
  readonly timeoutMs: number;
  /** How long before the deadline a custom early response answers. */
  readonly earlyMs: number;
}
