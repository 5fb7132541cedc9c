import { useCallback, useEffect, useState } from 'react';
import type { CityApi } from '../api.js';
import { isMissing } from '../context.js';
import { errorInfo, type ErrorInfo } from '../server-errors.js';
import type { EmergencyDispatch, EmergencyVehicle, LiveState, NetworkView, Point } from '../types.js';
import type { PickMode } from './EmergencyPanel.js';

export interface Emergency {
  /** vehicles with priority now: from the live feed once the server sends them, else polled */
  vehicles: EmergencyVehicle[];
  /** the server offers no emergency dispatch */
  unavailable: boolean;
  /** what the next map click picks, and the points picked so far (origin, destination) */
  pick: PickMode;
  picks: Point[];
  lastDispatch: EmergencyDispatch | null;
  /** routes of the vehicles dispatched here, by id */
  routes: ReadonlyMap<string, string[]>;
  busy: boolean;
  error: ErrorInfo | null;
  startPick(): void;
  cancelPick(): void;
  /** a map click while picking; false when not picking */
  pickAt(p: Point): boolean;
  dispatch(): Promise<void>;
  recall(id: string): void;
  /** forgets the dispatches of a city that started over */
  reset(): void;
}

/** Emergency dispatch from the live view: picking origin and destination on the map, dispatching, recalling, the vehicles with priority. */
export function useEmergency(api: CityApi, live: LiveState | null, view: NetworkView | null, canOperate: boolean): Emergency {
  const [pick, setPick] = useState<PickMode>(null);
  const [picks, setPicks] = useState<Point[]>([]);
  const [polled, setPolled] = useState<EmergencyVehicle[]>([]);
  const [unavailable, setUnavailable] = useState(false);
  const [lastDispatch, setLastDispatch] = useState<EmergencyDispatch | null>(null);
  const [routes, setRoutes] = useState<ReadonlyMap<string, string[]>>(new Map());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);

  const liveHasEmergency = live?.emergency !== undefined;
  useEffect(() => {
    if (liveHasEmergency || unavailable || !view) return;
    let alive = true;
    const poll = () =>
      api.emergencies().then((l) => alive && setPolled(l), (e) => alive && isMissing(e) && setUnavailable(true));
    poll();
    const timer = setInterval(poll, 2000);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [api, liveHasEmergency, unavailable, view]);

  const pickAt = useCallback((p: Point) => {
    if (!pick) return false;
    if (pick === 'origin') {
      setPicks([p]);
      setPick('destination');
    } else {
      setPicks((old) => [old[0], p]);
      setPick(null);
    }
    return true;
  }, [pick]);

  const dispatch = async () => {
    if (picks.length < 2) return;
    setBusy(true);
    setError(null);
    try {
      const d = await api.dispatchEmergency(picks[0], picks[1]);
      setLastDispatch(d);
      setRoutes((old) => new Map(old).set(d.id, d.route));
      setPicks([]);
      if (!liveHasEmergency) setPolled(await api.emergencies());
    } catch (e) {
      if (isMissing(e)) setUnavailable(true);
      else setError(errorInfo(e));
    } finally {
      setBusy(false);
    }
  };
  const recall = (id: string) =>
    void api.cancelEmergency(id).then(
      () => (liveHasEmergency ? undefined : api.emergencies().then(setPolled)),
      (e) => setError(errorInfo(e)),
    );
  const reset = useCallback(() => {
    setRoutes(new Map());
    setLastDispatch(null);
  }, []);

  return {
    vehicles: live?.emergency ?? polled, unavailable, pick, picks, lastDispatch, routes, busy, error,
    startPick: () => canOperate && (setPicks([]), setPick('origin')),
    cancelPick: () => (setPick(null), setPicks([]), setError(null)),
    pickAt, dispatch, recall, reset,
  };
}
