import type { CityApi } from '../api.js';
import type { ParkingSiteView } from '../parking.js';
import type { ErrorInfo } from '../server-errors.js';
import { usePoll } from './usePoll.js';

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
  const { value, error, missing } = usePoll(api.parkingSites, PARKING_POLL_MS, on);
  return { sites: value, error, unavailable: missing };
}
