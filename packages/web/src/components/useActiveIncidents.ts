import { useEffect, useState } from 'react';
import type { CityApi } from '../api.js';
import { isMissing } from '../context.js';
import { errorInfo, type ErrorInfo } from '../server-errors.js';
import type { Incident, LiveState } from '../types.js';

/** wall-clock ms between two polls of the active incidents, for a server whose live stream does not carry them */
const POLL_MS = 2000;

export interface ActiveIncidents {
  active: Incident[];
  /** the server offers no incidents at all */
  unavailable: boolean;
  /** the last poll failed (the live stream's incidents need none) */
  error: ErrorInfo | null;
}

/**
 * The incidents not cleared yet: from the live stream once it carries them,
 * else polled from `GET /api/v1/incidents?status=active`.
 */
export function useActiveIncidents(api: CityApi, live: LiveState | null): ActiveIncidents {
  const [polled, setPolled] = useState<Incident[]>([]);
  const [unavailable, setUnavailable] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  // unknown until the first live message: no poll before it
  const needsPoll = live !== null && live.incidents === undefined;
  useEffect(() => {
    if (!needsPoll || unavailable) return;
    let alive = true;
    const poll = () => api.incidents({ status: 'active' }).then(
      (l) => alive && (setPolled(l), setError(null)),
      (e: unknown) => alive && (isMissing(e) ? setUnavailable(true) : setError(errorInfo(e))),
    );
    void poll();
    const timer = setInterval(poll, POLL_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [api, needsPoll, unavailable]);
  return live?.incidents
    ? { active: live.incidents, unavailable: false, error: null }
    : { active: polled, unavailable, error };
}
