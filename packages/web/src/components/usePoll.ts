import { useEffect, useState } from 'react';
import { isMissing } from '../context.js';
import { errorInfo, type ErrorInfo } from '../server-errors.js';

export interface Polled<T> {
  /** the last answer (kept while a later poll fails); null before the first */
  value: T | null;
  /** the last poll failed (not for a missing endpoint: see `missing`) */
  error: ErrorInfo | null;
  /** the server offers no such thing (404, 405, 501): polling stopped */
  missing: boolean;
}

/**
 * Polls `load` every `ms` wall-clock ms while `on` (and once at once), until
 * the server says it has no such endpoint, or `done` says of an answer that
 * it will not change (e.g. a one-process server is never a cluster's).
 * Answers to a poll whose view has gone are dropped. `load` of undefined:
 * the API has no such call (`missing`).
 */
export function usePoll<T>(load: (() => Promise<T>) | undefined, ms: number, on = true, done?: (value: T) => boolean): Polled<T> {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [missing, setMissing] = useState(load === undefined);
  useEffect(() => {
    if (!on || !load || missing) return;
    let live = true;
    let timer: ReturnType<typeof setInterval> | undefined;
    const poll = () => load().then(
      (v) => {
        if (!live) return;
        setValue(v);
        setError(null);
        if (done?.(v)) clearInterval(timer);
      },
      (e: unknown) => {
        if (!live) return;
        if (isMissing(e)) {
          setMissing(true);
          clearInterval(timer);
        } else setError(errorInfo(e));
      },
    );
    timer = setInterval(poll, ms);
    void poll();
    return () => {
      live = false;
      clearInterval(timer);
    };
    // `load` and `done` are read when the poll starts; the API changes with the session
  }, [load, ms, on, missing]);
  return { value, error, missing };
}
