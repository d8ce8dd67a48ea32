/**
 * A preload (`node --import`) that moves this process's wall clock by
 * LEASE_GUARD_FLEET_CLOCK_SKEW_MS: `Date.now()`, `new Date()` and `Date()` read the skewed time.
 * The monotonic clock is untouched, as with libfaketime's FAKETIME_DONT_FAKE_MONOTONIC. The
 * guard must not care: it uses only the database clock and monotonic durations.
 */
import { WORKER_ENV } from './messages.js';

const skewMs = Number(process.env[WORKER_ENV.CLOCK_SKEW_MS] ?? 0);

function installSkewedClock(offsetMs: number): void {
  const RealDate = globalThis.Date;
  const now = (): number => RealDate.now() + offsetMs;
  globalThis.Date = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      return Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget);
    },
    apply() {
      return new RealDate(now()).toString();
    },
    get(target, property, receiver) {
      return property === 'now' ? now : Reflect.get(target, property, receiver);
    },
  });
}

if (Number.isFinite(skewMs) && skewMs !== 0) installSkewedClock(skewMs);
