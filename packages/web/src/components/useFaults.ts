import { useEffect, useState } from 'react';
import type { CityApi } from '../api.js';
import { errorInfo, type ErrorInfo } from '../server-errors.js';
import type { ControllerFault } from '../types.js';

/** The controllers' faults, fetched every 5 s; `error` when the last fetch failed (then `faults` says nothing). */
export interface FaultsState {
  faults: ControllerFault[] | null;
  error: ErrorInfo | null;
}

export function useFaults(api: CityApi): FaultsState {
  const [faults, setFaults] = useState<ControllerFault[] | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  useEffect(() => {
    let live = true;
    const load = () => api.faults().then((f) => live && (setFaults(f), setError(null)), (e) => live && setError(errorInfo(e)));
    load();
    const timer = setInterval(load, 5000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [api]);
  return { faults, error };
}
