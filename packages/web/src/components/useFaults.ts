import { useEffect, useState } from 'react';
import type { CityApi } from '../api.js';
import { errorText } from '../context.js';
import type { ControllerFault } from '../types.js';

/** The controllers' faults, fetched every 5 s; `error` when the last fetch failed (then `faults` says nothing). */
export function useFaults(api: CityApi): { faults: ControllerFault[] | null; error: string | null } {
  const [faults, setFaults] = useState<ControllerFault[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const load = () => api.faults().then((f) => live && (setFaults(f), setError(null)), (e) => live && setError(errorText(e)));
    load();
    const timer = setInterval(load, 5000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [api]);
  return { faults, error };
}
