/**
 * An attempt's deadline: the plain form the mysql2 executor waits on, and the AbortSignal form an
 * executor that knows only signals reads (the Data API one), made on demand; both carry the
 * TimeoutError AbortSignal.timeout would.
 */
import { describe, expect, it } from 'vitest';
import { withDeadline } from '../../src/lease/deadline.js';

const expiry = (options: { deadline?: { onExpire(listener: () => void): void } }): Promise<void> =>
  new Promise((resolve) => options.deadline?.onExpire(resolve));

describe('withDeadline', () => {
  it('aborts a signal read before the deadline, with a TimeoutError', async () => {
    const reason = await withDeadline(
      5,
      (options) =>
        new Promise<unknown>((resolve) => {
          const signal = options.signal as AbortSignal;
          signal.addEventListener('abort', () => resolve(signal.reason));
        }),
    );
    expect(reason).toBeInstanceOf(DOMException);
    expect((reason as DOMException).name).toBe('TimeoutError');
  });

  it('gives a signal read after the deadline already aborted, also through a copy of the options', async () => {
    const signal = await withDeadline(5, async (options) => {
      await expiry(options);
      return { ...options }.signal as AbortSignal;
    });
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('calls a deadline listener once, at once when already expired, never after offExpire', async () => {
    const calls: string[] = [];
    await withDeadline(5, async (options) => {
      const deadline = options.deadline;
      if (!deadline) throw new Error('no deadline');
      const removed = (): void => {
        calls.push('removed');
      };
      deadline.onExpire(removed);
      deadline.offExpire(removed);
      deadline.onExpire(() => calls.push('on time'));
      await expiry(options);
      expect(deadline.expired).toBe(true);
      deadline.onExpire(() => calls.push('late'));
    });
    expect(calls).toEqual(['on time', 'late']);
  });
});
