import { useEffect, useRef, useState } from 'react';
import type { CityApi, LiveConnection, LiveStatus } from '../api.js';
import { errorInfo, type ErrorInfo } from '../server-errors.js';
import { useLoadUntilDone } from '../retry.js';
import type { KpiSample, LiveState, NetworkView, VehicleFrame } from '../types.js';

/** KPI samples kept from the live feed */
const KPI_KEEP = 2000;

export interface LiveFeed {
  view: NetworkView | null;
  controllers: string[];
  loadError: ErrorInfo | null;
  live: LiveState | null;
  status: LiveStatus;
  /** the last vehicle frame of the brain's view (while vehicles are subscribed) */
  frame: VehicleFrame | null;
  /** the last frame of the virtual street's ground truth (while it is subscribed; null otherwise) */
  truthFrame: VehicleFrame | null;
  /** KPI history, then the live feed's samples */
  kpis: KpiSample[];
  /** bumped when the server's city starts over (its clock went back) */
  epoch: number;
  /** wall-clock ms when the last live state came (null before the first) */
  receivedAt: number | null;
}

/**
 * The city as the live view shows it: the network, controllers and KPI
 * history (loaded until they answer), then the live stream's state and
 * vehicle frames. `vehicles` subscribes to the brain's frames, `truth` to the
 * virtual street's ground truth (the demo's overlay; asked for only while the
 * server says it runs a street); `onRestart` hears that the city started
 * over, so that what was tied to the old one is dropped.
 */
export function useLiveFeed(api: CityApi, vehicles: boolean, truth: boolean, onRestart: () => void): LiveFeed {
  const [view, setView] = useState<NetworkView | null>(null);
  const [controllers, setControllers] = useState<string[]>([]);
  const [loadError, setLoadError] = useState<ErrorInfo | null>(null);
  const [live, setLive] = useState<LiveState | null>(null);
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [frame, setFrame] = useState<VehicleFrame | null>(null);
  const [truthFrame, setTruthFrame] = useState<VehicleFrame | null>(null);
  const [kpis, setKpis] = useState<KpiSample[]>([]);
  const [epoch, setEpoch] = useState(0);
  const [receivedAt, setReceivedAt] = useState<number | null>(null);
  const conn = useRef<LiveConnection | null>(null);
  const restarted = useRef(onRestart);
  useEffect(() => void (restarted.current = onRestart), [onRestart]);

  useLoadUntilDone(
    () => Promise.all([api.network(), api.controllers(), api.kpis({ limit: 360 })]),
    ([v, c, k]) => (setView(v), setControllers(c), setKpis(k), setLoadError(null)),
    (e) => setLoadError(errorInfo(e)),
    [api],
  );

  useEffect(() => {
    let lastT = -Infinity;
    const c = api.live({
      onState: (s) => {
        // the city's clock went back: the server restarted, and the KPI history shown is the old city's
        if (s.t < lastT) {
          // so are the vehicles dispatched and the incidents seen here: the new city reuses their ids (ev-1, inc-1, …)
          restarted.current();
          setEpoch((e) => e + 1);
          setKpis([]);
          api.kpis({ limit: 360 }).then((hist) => setKpis((now) => {
            const end = hist.at(-1)?.t ?? -Infinity;
            return [...hist, ...now.filter((x) => x.t > end)];
          }), () => undefined);
        }
        lastT = s.t;
        setLive(s);
        setReceivedAt(Date.now());
        const k = s.kpi;
        if (k) setKpis((old) => (old.length && old[old.length - 1].t >= k.t ? old : [...old.slice(-(KPI_KEEP - 1)), k]));
      },
      onVehicles: setFrame,
      onTruth: setTruthFrame,
      onStatus: setStatus,
    });
    conn.current = c;
    return () => c.close();
  }, [api]);
  useEffect(() => conn.current?.subscribeVehicles(vehicles), [vehicles, status]);
  // a server without a street (or one restarted without) is not asked: it would refuse
  const street = live?.virtualStreet === true;
  const wantTruth = truth && street;
  useEffect(() => {
    conn.current?.subscribeTruth(wantTruth);
    if (!wantTruth) setTruthFrame(null);
  }, [wantTruth, status]);

  return { view, controllers, loadError, live, status, frame, truthFrame, kpis, epoch, receivedAt };
}
