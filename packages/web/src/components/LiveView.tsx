import type { PickingInfo } from '@deck.gl/core';
import { ScatterplotLayer } from '@deck.gl/layers';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { LiveConnection, LiveStatus } from '../api.js';
import { errorText, formatClock, isMissing, useI18n, useSession } from '../context.js';
import {
  EMPTY_LANE, QUEUE_FULL, SIGNAL_COLOURS, SIGNAL_GREEN, SIGNAL_RED, SIGNAL_YELLOW, SignalMap, VEHICLE_MIN_ZOOM, css, laneShapes,
  phaseColour, queueColour, speedColour, vehicleColours, type LaneShape, type Path,
} from '../map/geometry.js';
import type { MessageKey } from '../i18n.js';
import { acknowledgerName, blockedSeconds, formatDuration, responseSeconds } from '../incidents.js';
import { useLoadUntilDone } from '../retry.js';
import { corridorLayer, incidentLayers, laneLayer, stopBarLayer, vehicleLayer } from '../map/layers.js';
import { MapCanvas, type MapFocus } from '../map/MapCanvas.js';
import type { EmergencyDispatch, EmergencyVehicle, Incident, KpiSample, LiveState, NetworkView, Point, SimulationClock, VehicleFrame } from '../types.js';
import { EmergencyPanel, type PickMode } from './EmergencyPanel.js';
import { IncidentsPanel } from './IncidentsPanel.js';
import { IntersectionPanel } from './IntersectionPanel.js';
import { KpiPanel } from './KpiPanel.js';
import { useActiveIncidents } from './useActiveIncidents.js';

type Panel = 'kpis' | 'intersection' | 'emergency' | 'incidents';
const PANELS: Panel[] = ['kpis', 'intersection', 'emergency', 'incidents'];
const PANEL_LABELS: Record<Panel, MessageKey> = { kpis: 'panelKpis', intersection: 'panelIntersection', emergency: 'panelEmergency', incidents: 'panelIncidents' };
/** zoom (log2 px per metre) a click on an incident in the list zooms in to, at least: its lane and vehicles show */
const INCIDENT_FOCUS_ZOOM = 0;
type ColourBy = 'speed' | 'queue';
type InterDatum = { i: number; ix: NetworkView['intersections'][number] };

const KPI_KEEP = 2000;

function SimControls({ live, status }: { live: LiveState | null; status: LiveStatus }) {
  const { api, canOperate } = useSession();
  const { t } = useI18n();
  const [clock, setClock] = useState<SimulationClock | null>(null);
  useEffect(() => void api.simulation().then(setClock, () => undefined), [api]);
  const running = live?.running ?? clock?.running ?? true;
  const speed = live?.speed ?? clock?.speed ?? 1;
  const lagging = live ? live.lagging : clock?.lagging;
  const achieved = live?.achievedSpeed ?? clock?.achievedSpeed;
  // the city cannot keep the speed asked for: say what it does keep, beside the control
  const lag = running && lagging && achieved !== undefined ? (
    <span className="lagging" title={t('speedLaggingHint')} data-testid="sim-lagging">{t('speedAchieved', { speed: achieved.toFixed(achieved < 10 ? 1 : 0) })}</span>
  ) : null;
  const change = (c: { speed?: number; running?: boolean }) => void api.setSimulation(c).then(setClock, () => undefined);
  // connected to a city whose clock is stopped: not "live"
  const state = status === 'open' && !running ? t('simPaused') : t(`live_${status}`);
  return (
    <div className="sim-controls">
      <span className={`status ${status === 'open' && !running ? 'paused' : status}`} title={state} data-testid="live-status">● {state}</span>
      <span title={t('simTime')} data-testid="sim-time">{t('simTime')} {formatClock(live?.t ?? clock?.time ?? 0)}</span>
      {canOperate ? (
        <>
          <button type="button" onClick={() => change({ running: !running })}>{running ? t('pause') : t('resume')}</button>
          <label>
            {t('speedLabel')}{' '}
            <select value={speed} onChange={(e) => change({ speed: Number(e.target.value) })}>
              {[...new Set([1, 2, 5, 10, 30, 60, speed])].sort((a, b) => a - b).map((s) => <option key={s} value={s}>{s}×</option>)}
            </select>
          </label>
          {lag}
        </>
      ) : (
        <span className="muted">{speed}× {lag}</span>
      )}
    </div>
  );
}

function Legend({ colourBy }: { colourBy: ColourBy }) {
  const { t } = useI18n();
  const stops = colourBy === 'speed' ? [0, 0.25, 0.5, 0.75, 1].map((r) => speedColour(r)) : [0, 3, 6, 9, 12].map((q) => queueColour(q));
  return (
    <div className="legend">
      <div>{t(colourBy === 'speed' ? 'legendSpeed' : 'legendQueue')}</div>
      <div className="ramp" style={{ background: `linear-gradient(to right, ${stops.map(css).join(',')})` }} />
      <div className="ramp-labels">
        <span>{colourBy === 'speed' ? '0' : '0'}</span>
        <span>{colourBy === 'speed' ? '100%' : `${QUEUE_FULL}+`}</span>
      </div>
      <div className="legend-row">
        <span><i className="swatch" style={{ background: css(EMPTY_LANE) }} /> {t('legendEmpty')}</span>
      </div>
      <div className="legend-row">
        {t('legendSignal')}:{' '}
        <span><i className="swatch" style={{ background: css(SIGNAL_COLOURS[SIGNAL_GREEN]) }} /> {t('green')}</span>
        <span><i className="swatch" style={{ background: css(SIGNAL_COLOURS[SIGNAL_YELLOW]) }} /> {t('yellow')}</span>
        <span><i className="swatch" style={{ background: css(SIGNAL_COLOURS[SIGNAL_RED]) }} /> {t('red')}</span>
      </div>
      <div className="legend-row">
        <span><i className="swatch" style={{ background: 'rgba(56,189,248,0.6)' }} /> {t('corridorLegend')}</span>
      </div>
      <div className="legend-row">
        <span><i className="swatch incident-mark" /> {t('incidentLegend')}</span>
      </div>
    </div>
  );
}

export function LiveView() {
  const { api, canOperate } = useSession();
  const { t, num } = useI18n();
  const [view, setView] = useState<NetworkView | null>(null);
  const [controllers, setControllers] = useState<string[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [live, setLive] = useState<LiveState | null>(null);
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [frame, setFrame] = useState<VehicleFrame | null>(null);
  const [kpis, setKpis] = useState<KpiSample[]>([]);
  const [colourBy, setColourBy] = useState<ColourBy>('speed');
  const [showVehicles, setShowVehicles] = useState(true);
  // zoom in half steps: lanes are re-widened per step, vehicles hidden when far out
  const [zoom, setZoom] = useState(0);
  const zoomedIn = zoom >= VEHICLE_MIN_ZOOM;
  const [panel, setPanel] = useState<Panel>('kpis');
  const [selected, setSelected] = useState<string | null>(null);
  const [pick, setPick] = useState<PickMode>(null);
  const [picks, setPicks] = useState<Point[]>([]);
  const [polled, setPolled] = useState<EmergencyVehicle[]>([]);
  const [emergencyMissing, setEmergencyMissing] = useState(false);
  const [lastDispatch, setLastDispatch] = useState<EmergencyDispatch | null>(null);
  const [routes, setRoutes] = useState<ReadonlyMap<string, string[]>>(new Map());
  const [dispatchBusy, setDispatchBusy] = useState(false);
  const [dispatchError, setDispatchError] = useState<string | null>(null);
  // bumped when the server's city starts over (its clock went back)
  const [epoch, setEpoch] = useState(0);
  const [selectedIncident, setSelectedIncident] = useState<string | null>(null);
  const [focus, setFocus] = useState<MapFocus | null>(null);
  const conn = useRef<LiveConnection | null>(null);

  useLoadUntilDone(
    () => Promise.all([api.network(), api.controllers(), api.kpis({ limit: 360 })]),
    ([v, c, k]) => (setView(v), setControllers(c), setKpis(k), setLoadError(null)),
    (e) => setLoadError(errorText(e)),
    [api],
  );

  useEffect(() => {
    let lastT = -Infinity;
    const c = api.live({
      onState: (s) => {
        // the city's clock went back: the server restarted, and the KPI history shown is the old city's
        if (s.t < lastT) {
          // so are the routes of the vehicles dispatched here: the new city reuses their ids (ev-1, …)
          setRoutes(new Map());
          setLastDispatch(null);
          // and its incidents' ids (inc-1, …)
          setEpoch((e) => e + 1);
          setSelectedIncident(null);
          setKpis([]);
          api.kpis({ limit: 360 }).then((hist) => setKpis((now) => {
            const end = hist.at(-1)?.t ?? -Infinity;
            return [...hist, ...now.filter((x) => x.t > end)];
          }), () => undefined);
        }
        lastT = s.t;
        setLive(s);
        const k = s.kpi;
        if (k) setKpis((old) => (old.length && old[old.length - 1].t >= k.t ? old : [...old.slice(-(KPI_KEEP - 1)), k]));
      },
      onVehicles: setFrame,
      onStatus: setStatus,
    });
    conn.current = c;
    return () => c.close();
  }, [api]);
  useEffect(() => conn.current?.subscribeVehicles(showVehicles), [showVehicles, status]);

  // emergency vehicles: from the live feed once the server sends them, else polled
  const liveHasEmergency = live?.emergency !== undefined;
  useEffect(() => {
    if (liveHasEmergency || emergencyMissing || !view) return;
    let alive = true;
    const poll = () =>
      api.emergencies().then((l) => alive && setPolled(l), (e) => alive && isMissing(e) && setEmergencyMissing(true));
    poll();
    const timer = setInterval(poll, 2000);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [api, liveHasEmergency, emergencyMissing, view]);
  const emergencies = live?.emergency ?? polled;
  const incidents = useActiveIncidents(api, live);

  const lanes = useMemo(() => (view ? laneShapes(view) : []), [view]);
  const signalMap = useMemo(() => (view ? new SignalMap(view, lanes) : null), [view, lanes]);
  const signals = useMemo(() => (signalMap && live ? signalMap.states(live.phases) : new Uint8Array(lanes.length)), [signalMap, live, lanes]);
  const inters = useMemo<InterDatum[]>(() => (view ? view.intersections.map((ix, i) => ({ i, ix })).filter((d) => !d.ix.virtual) : []), [view]);
  const roads = useMemo(() => {
    const path = new Map<string, Path>(), to = new Map<string, string>(), between = new Map<string, string>();
    for (const r of view?.roads ?? []) {
      path.set(r.id, r.lanes[Math.floor(r.lanes.length / 2)].points);
      to.set(r.id, r.to);
      between.set(`${r.from}>${r.to}`, r.id);
    }
    return { path, to, between };
  }, [view]);

  // green corridors: the rest of each vehicle's route (known for the ones
  // dispatched here), else the roads linking the intersections still ahead
  const corridor = useMemo(() => {
    const ahead = new Set<string>();
    const holds = new Map<string, number>();
    for (const e of emergencies) {
      for (const c of e.corridor) holds.set(c.intersection, c.phase);
      const route = routes.get(e.id);
      if (route) {
        const k = e.corridor.length ? route.findIndex((r) => roads.to.get(r) === e.corridor[0].intersection) : route.length - 1;
        for (const r of route.slice(Math.max(0, k))) ahead.add(r);
      } else {
        for (let i = 1; i < e.corridor.length; i++) {
          const r = roads.between.get(`${e.corridor[i - 1].intersection}>${e.corridor[i].intersection}`);
          if (r) ahead.add(r);
        }
      }
    }
    const paths = [...ahead].map((r) => roads.path.get(r)).filter((p): p is Path => p !== undefined);
    return { paths, holds };
  }, [emergencies, routes, roads]);
  const blockedLanes = useMemo(() => {
    const byId = new Map(lanes.map((l) => [l.id, l.path]));
    return incidents.active.map((i) => byId.get(i.lane)).filter((p): p is Path => p !== undefined);
  }, [lanes, incidents.active]);
  const onMap = useMemo(() => emergencies.filter((e): e is EmergencyVehicle & { x: number; y: number } => e.x !== null && e.y !== null), [emergencies]);

  const vehicleColourBuf = useMemo(() => (frame ? vehicleColours(frame.data, 2, frame.n) : new Uint8Array(0)), [frame]);
  const vehiclesVisible = showVehicles && zoomedIn && frame !== null;
  const onZoom = useCallback((z: number) => setZoom(Math.floor(z * 2) / 2), []);

  const layers = useMemo(() => {
    if (!view) return [];
    const laneColour = (l: LaneShape) => {
      if (!live || !live.lanes.vehicles[l.index]) return EMPTY_LANE;
      return colourBy === 'speed' ? speedColour(live.lanes.speed[l.index] / (l.maxSpeed || 1)) : queueColour(live.lanes.queue[l.index]);
    };
    return [
      corridorLayer(corridor.paths),
      laneLayer(lanes, laneColour, [live?.t, colourBy], zoom),
      stopBarLayer(signalMap?.stopBars ?? [], signals, live?.t, zoom),
      vehicleLayer('vehicles', frame?.data ?? new Float32Array(0), 2, frame?.n ?? 0, vehicleColourBuf, vehiclesVisible),
      new ScatterplotLayer<InterDatum>({
        id: 'intersections',
        data: inters,
        getPosition: (d) => [d.ix.x, d.ix.y],
        getRadius: (d) => Math.max(d.ix.width * 0.8, 8),
        radiusUnits: 'common',
        radiusMinPixels: 4,
        getFillColor: (d) => phaseColour(live?.phases[d.i] ?? -1, d.ix.yellow),
        stroked: true,
        lineWidthUnits: 'pixels',
        getLineWidth: (d) => (d.ix.id === selected ? 3 : corridor.holds.has(d.ix.id) ? 3 : 1),
        getLineColor: (d) => (d.ix.id === selected ? [255, 255, 255, 255] : corridor.holds.has(d.ix.id) ? [56, 189, 248, 255] : [15, 23, 42, 255]),
        pickable: true,
        updateTriggers: { getFillColor: live?.t, getLineWidth: [selected, corridor], getLineColor: [selected, corridor] },
      }),
      new ScatterplotLayer<EmergencyVehicle & { x: number; y: number }>({
        id: 'emergency',
        data: onMap,
        getPosition: (d) => [d.x, d.y],
        getRadius: 8,
        radiusUnits: 'common',
        radiusMinPixels: 7,
        getFillColor: [239, 68, 68, 255],
        stroked: true,
        getLineColor: [255, 255, 255, 255],
        lineWidthMinPixels: 2,
      }),
      ...incidentLayers(incidents.active, blockedLanes, selectedIncident),
      new ScatterplotLayer<Point>({
        id: 'picks',
        data: picks,
        getPosition: (d) => [d.x, d.y],
        getRadius: 10,
        radiusUnits: 'common',
        radiusMinPixels: 7,
        getFillColor: (_d, { index }) => (index === 0 ? [34, 197, 94, 255] : [239, 68, 68, 255]),
        stroked: true,
        getLineColor: [255, 255, 255, 255],
        lineWidthMinPixels: 2,
      }),
    ];
  }, [view, lanes, live, colourBy, signalMap, signals, frame, vehicleColourBuf, vehiclesVisible, inters, selected, corridor, onMap, incidents.active, blockedLanes, selectedIncident, picks, zoom]);

  const onClick = useCallback((info: PickingInfo) => {
    if (pick && info.coordinate) {
      const p = { x: info.coordinate[0], y: info.coordinate[1] };
      if (pick === 'origin') {
        setPicks([p]);
        setPick('destination');
      } else {
        setPicks((old) => [old[0], p]);
        setPick(null);
      }
      return;
    }
    if (info.layer?.id === 'incidents' && info.object) {
      setSelectedIncident((info.object as Incident).id);
      setPanel('incidents');
      return;
    }
    if (info.layer?.id === 'intersections' && info.object) {
      setSelected((info.object as InterDatum).ix.id);
      setPanel('intersection');
    }
  }, [pick]);
  const selectIncident = useCallback((i: Incident) => {
    setSelectedIncident(i.id);
    setFocus({ x: i.x, y: i.y, minZoom: INCIDENT_FOCUS_ZOOM });
  }, []);

  const getTooltip = useCallback((info: PickingInfo) => {
    if (!info.object || !live) return null;
    if (info.layer?.id === 'intersections') {
      const d = info.object as InterDatum;
      const phase = live.phases[d.i];
      return `${t('tooltipIntersection', { id: d.ix.id })}\n${phase === d.ix.yellow ? t('tooltipYellow') : t('tooltipPhase', { phase })}`;
    }
    if (info.layer?.id === 'incidents') {
      const i = info.object as Incident;
      return [
        t('tooltipIncident', { lane: i.lane }),
        t('incidentAt', { intersection: i.intersection }),
        `${t('incidentBlockedFor', { duration: formatDuration(blockedSeconds(i, live.t)) })} · ${t('incidentSince', { time: formatClock(i.since) })}`,
        t('incidentEvidence', { green: i.evidence.greenSeconds, queue: i.evidence.queue }),
        i.acknowledged ? t('incidentAcknowledged', { by: acknowledgerName(i.acknowledged.by), s: responseSeconds(i) ?? 0 }) : t('incidentUnacknowledged'),
      ].join('\n');
    }
    if (info.layer?.id === 'lanes') {
      const l = info.object as LaneShape;
      return t('tooltipLane', { id: l.id, vehicles: live.lanes.vehicles[l.index], queue: live.lanes.queue[l.index], speed: num(live.lanes.speed[l.index], 1) });
    }
    return null;
  }, [live, t, num]);

  const dispatch = async () => {
    if (picks.length < 2) return;
    setDispatchBusy(true);
    setDispatchError(null);
    try {
      const d = await api.dispatchEmergency(picks[0], picks[1]);
      setLastDispatch(d);
      setRoutes((old) => new Map(old).set(d.id, d.route));
      setPicks([]);
      if (!liveHasEmergency) setPolled(await api.emergencies());
    } catch (e) {
      if (isMissing(e)) setEmergencyMissing(true);
      else setDispatchError(errorText(e));
    } finally {
      setDispatchBusy(false);
    }
  };
  const recall = (id: string) =>
    void api.cancelEmergency(id).then(
      () => (liveHasEmergency ? undefined : api.emergencies().then(setPolled)),
      (e) => setDispatchError(errorText(e)),
    );

  const stats = useMemo(() => ({
    lanes: lanes.length, intersections: inters.length, vehicles: vehiclesVisible ? frame?.n ?? 0 : 0,
    corridor: corridor.paths.length, emergency: onMap.length, incidents: incidents.active.length,
  }), [lanes, inters, vehiclesVisible, frame, corridor, onMap, incidents.active]);

  if (loadError) return <p className="error page-error">{t('errorMessage', { message: loadError })}</p>;
  if (!view) return <p className="muted page-error">{t('loading')}</p>;
  return (
    <div className="live">
      <div className="map-column">
        <div className="toolbar">
          <SimControls live={live} status={status} />
          <div className="segmented" role="group" aria-label={t('colourBy')}>
            <span>{t('colourBy')}:</span>
            {(['speed', 'queue'] as ColourBy[]).map((c) => (
              <button type="button" key={c} className={colourBy === c ? 'on' : ''} aria-pressed={colourBy === c} onClick={() => setColourBy(c)}>
                {t(c === 'speed' ? 'bySpeed' : 'byQueue')}
              </button>
            ))}
          </div>
          <label className="check">
            <input type="checkbox" checked={showVehicles} onChange={(e) => setShowVehicles(e.target.checked)} /> {t('showVehicles')}
            <span className="muted" data-testid="vehicle-count">
              {' '}{showVehicles && (zoomedIn ? (frame ? t('vehiclesShown', { n: num(frame.n, 0) }) : '') : t('zoomForVehicles'))}
            </span>
          </label>
        </div>
        <MapCanvas bounds={view.bounds} layers={layers} onClick={onClick} getTooltip={getTooltip} onZoom={onZoom} stats={stats} cursor={pick ? 'crosshair' : undefined} focus={focus}>
          {pick && <div className="pick-banner" role="status">{t(pick === 'origin' ? 'pickOrigin' : 'pickDestination')}</div>}
          <Legend colourBy={colourBy} />
        </MapCanvas>
      </div>
      <aside className="sidebar">
        <nav className="tabs" role="tablist">
          {PANELS.map((p) => (
            <button type="button" role="tab" key={p} aria-selected={panel === p} className={panel === p ? 'on' : ''} onClick={() => setPanel(p)} data-panel={p}>
              {t(PANEL_LABELS[p])}
              {p === 'incidents' && incidents.active.length > 0 && (
                <span className="count-badge" data-testid="incident-count">{num(incidents.active.length, 0)}</span>
              )}
            </button>
          ))}
        </nav>
        <div className="panel-body">
          {panel === 'kpis' && <KpiPanel kpis={kpis} />}
          {panel === 'intersection' && (
            <IntersectionPanel id={selected} view={view} controllers={controllers} tick={live?.t ?? 0} onClose={() => setSelected(null)} />
          )}
          {panel === 'emergency' && (
            <EmergencyPanel
              pick={pick} picks={picks} vehicles={emergencies} lastDispatch={lastDispatch} unavailable={emergencyMissing}
              busy={dispatchBusy} error={dispatchError}
              onStartPick={() => canOperate && (setPicks([]), setPick('origin'))}
              onCancelPick={() => (setPick(null), setPicks([]), setDispatchError(null))}
              onDispatch={dispatch} onRecall={recall}
            />
          )}
          {panel === 'incidents' && (
            <IncidentsPanel
              active={incidents.active} now={live?.t ?? 0} epoch={epoch} unavailable={incidents.unavailable} error={incidents.error}
              selected={selectedIncident} onSelect={selectIncident}
            />
          )}
        </div>
      </aside>
    </div>
  );
}
