/**
 * The ways a long-running command (`lease-guard local`, `lease-guard demo`) is told to stop:
 * Ctrl-C (SIGINT), `kill` (SIGTERM), a closed terminal (SIGHUP), or its parent process going away
 * (it is re-parented). Node's default for SIGHUP is to die at once, without exit handlers, which
 * would leave a throwaway database behind; listening turns all of them into one clean stop.
 */
export type StopReason = NodeJS.Signals | 'parent exited';

export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** How often to look whether the parent process is still there. */
const PARENT_POLL_MS = 500;

/** Calls `onStop` for each stop request until disposed; the caller decides what a second one means. */
export function onStopRequest(onStop: (reason: StopReason) => void): () => void {
  const parent = process.ppid;
  const onSignal = (signal: NodeJS.Signals): void => onStop(signal);
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  let parentGone = false;
  const poll = setInterval(() => {
    // process.ppid is read afresh: an orphan is adopted by init or a subreaper.
    if (!parentGone && process.ppid !== parent) {
      parentGone = true;
      onStop('parent exited');
    }
  }, PARENT_POLL_MS).unref();
  return () => {
    clearInterval(poll);
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  };
}
