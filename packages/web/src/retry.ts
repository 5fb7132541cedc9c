import { useEffect, type DependencyList } from 'react';

/** wall-clock ms between two tries to load when the server could not be reached */
const LOAD_RETRY_MS = 3000;

/**
 * Loads with `load` when `deps` change, and until it succeeds: the server may
 * be restarting, so a failure is shown (`onError`) and tried again every few
 * seconds rather than left on screen for good, unless `onError` answers
 * 'stop' (the server has no such thing: trying again cannot help). Results
 * of a load whose view has gone are dropped.
 */
export function useLoadUntilDone<T>(load: () => Promise<T>, onLoaded: (value: T) => void, onError: (e: unknown) => void | 'stop', deps: DependencyList): void {
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const attempt = () => load().then(
      (v) => alive && onLoaded(v),
      (e: unknown) => {
        if (!alive || onError(e) === 'stop') return;
        timer = setTimeout(attempt, LOAD_RETRY_MS);
      },
    );
    void attempt();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
    // the caller's deps decide when to load again, as for useEffect
  }, deps);
}
