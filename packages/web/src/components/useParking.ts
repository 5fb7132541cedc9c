import { useEffect, useState } from 'react';
import type { CityApi } from '../api.js';
import { isMissing } from '../context.js';
import type { ParkingSiteView } from '../parking.js';
import { errorInfo, type ErrorInfo } from '../server-errors.js';

/** Every parking poll's period, wall ms: bay sensors report changes, a few seconds late is fine. */
export const PARKING_POLL_MS = 3000;

export interface ParkingState {
  sites: ParkingSiteView[] | null;
  error: ErrorInfo | null;
  /** the city has no parking service (the in-browser city, an older server) */
  unavailable: boolean;
}

/** The parking sites and their live availability, polled while `on`. */
export function useParking(api: CityApi, on: boolean): ParkingState {
  const [sites, setSites] = useState<ParkingSiteView[] | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [unavailable, setUnavailable] = useState(!api.parkingSites);
  useEffect(() => {
    const read = api.parkingSites;
    if (!on || !read) return;
    let live = true;
    const load = () => read().then((s) => live && (setSites(s), setError(null)), (e: unknown) => {
      if (!live) return;
      if (isMissing(e)) setUnavailable(true);
      else setError(errorInfo(e));
    });
    load();
    const timer = setInterval(load, PARKING_POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [api, on]);
  return { sites, error, unavailable };
}
