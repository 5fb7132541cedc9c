import type { CityApi } from '../api.js';
import type { ErrorInfo } from '../server-errors.js';
import type { ControllerFault } from '../types.js';
import { usePoll } from './usePoll.js';

/** The controllers' faults, fetched every 5 s; `error` when the last fetch failed (then `faults` says nothing). */
export interface FaultsState {
  faults: ControllerFault[] | null;
  error: ErrorInfo | null;
}

export function useFaults(api: CityApi): FaultsState {
  const { value, error } = usePoll(api.faults, 5000);
  return { faults: value, error };
}
