import type { PickingInfo } from '@deck.gl/core';
import { useCallback, useEffect, useMemo, useRef, useState, type CSSProperties } from 'react';
import type { LiveStatus } from '../api.js';
import { formatClock, useI18n, useSession } from '../context.js';
import { VEHICLE_MIN_ZOOM, networkSpacing, type LaneShape } from '../map/geometry.js';
import { LiveLegend } from '../map/Legend.js';
import { useUiScale } from '../scale.js';
import type { MessageKey } from '../i18n.js';
import { acknowledgerName, blockedSeconds, formatDuration, responseSeconds } from '../incidents.js';
import { useLiveLayers, type ColourBy, type InterDatum } from '../map/live-layers.js';
import { MapCanvas, type MapFocus } from '../map/MapCanvas.js';
import type { ClusterView, Incident, LiveState, SimulationClock } from '../types.js';
import { clusterBoard } from '../cluster.js';
import { ClusterPanel } from './ClusterPanel.js';
import { usePoll } from './usePoll.js';
import { EmergencyPanel } from './EmergencyPanel.js';
import { IncidentsPanel } from './IncidentsPanel.js';
import { WATCHLIST_ROLES, WatchlistPanel } from './WatchlistPanel.js';
import { IntersectionPanel } from './IntersectionPanel.js';
import { GridlockAlarm, KpiPanel } from './KpiPanel.js';
import { laneName, phaseName } from '../names.js';
import { ErrorLine } from './ErrorLine.js';
import { useActiveIncidents } from './useActiveIncidents.js';
import { useEmergency } from './useEmergency.js';
import { useFaults } from './useFaults.js';
import { useLiveFeed } from './useLiveFeed.js';
import { ParkingPanel } from './ParkingPanel.js';
import { useParking } from './useParking.js';
import { parkingLayer, type ParkingSiteView } from '../parking.js';
import { RegionTiles, WallAlarms, WallFigures } from './Wall.js';

type Panel = 'kpis' | 'intersection' | 'emergency' | 'incidents' | 'parking' | 'watchlist' | 'cluster';
const PANELS: Panel[] = ['kpis', 'intersection', 'emergency', 'incidents', 'parking', 'watchlist', 'cluster'];
const PANEL_LABELS: Record<Panel, MessageKey> = {
  kpis: 'panelKpis', intersection: 'panelIntersection', emergency: 'panelEmergency', incidents: 'panelIncidents', parking: 'panelParking', watchlist: 'panelWatchlist', cluster: 'panelCluster',
};
/** wall-clock ms between two polls of a cluster's owners and workers (the workers report every second) */
const CLUSTER_POLL_MS = 2000;
/** a one-process server is never a cluster's: one answer says so */
const notCluster = (c: ClusterView) => !c.cluster;
const NO_ALERTS: never[] = [];
/** wall ms without a live state (sent every 0.5 s) after which what shows is stale */
const STALE_MS = 5000;

/** Wall-clock ms, refreshed every `ms`. */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

/** zoom (log2 px per metre) a click on an incident in the list zooms in to, at least: its lane and vehicles show */
const INCIDENT_FOCUS_ZOOM = 0;
/** `controls`: false shows the state and the clock only (the wall) */
function SimControls({ live, status, controls = true }: { live: LiveState | null; status: LiveStatus; controls?: boolean }) {
  const { api, canOperate: mayOperate } = useSession();
  const canOperate = mayOperate && controls;
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
  // a scenario whose demand has run out is not "live" either: it says so, and whether vehicles still drive
  const over = status === 'open' && (live?.streetDemand === 'finished' || live?.streetDemand === 'ended') ? live.streetDemand : null;
  const state = over ? t(over === 'finished' ? 'streetFinished' : 'streetDemandEnded') : status === 'open' && !running ? t('simPaused') : t(`live_${status}`);
  return (
    <div className="sim-controls">
      <span className={`status ${over ?? (status === 'open' && !running ? 'paused' : status)}`} title={state} data-testid="live-status">● {state}</span>
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

export interface LiveViewProps {
  /** the wall mode: no operator controls; the map, the alarms, the city's figures and the regions, large */
  wall?: boolean;
  /** leaves the wall mode (its button is on the wall's own top bar) */
  onExitWall?: () => void;
}

/** The live view: the map and its toolbar, and the side panels (KPIs, intersection, emergency, incidents); or the wall. */
export function LiveView({ wall = false, onExitWall }: LiveViewProps) {
  const { api, canOperate, me } = useSession();
  // the watchlist's alerts carry plates: its tab is only for the roles that see them
  const seesPlates = WATCHLIST_ROLES.includes(me.role);
  const { t, num } = useI18n();
  const [colourBy, setColourBy] = useState<ColourBy>('speed');
  const [showVehicles, setShowVehicles] = useState(true);
  // the demo's overlay: the virtual street's ground truth, which the brain does not see
  const [showTruth, setShowTruth] = useState(false);
  // zoom in half steps: lanes are re-widened per step, vehicles hidden when far out
  const [zoom, setZoom] = useState(0);
  const zoomedIn = zoom >= VEHICLE_MIN_ZOOM;
  const [panel, setPanel] = useState<Panel>('kpis');
  const [selected, setSelected] = useState<string | null>(null);
  const [selectedIncident, setSelectedIncident] = useState<string | null>(null);
  const [focus, setFocus] = useState<MapFocus | null>(null);
  // what is tied to a city that started over goes with it: the dispatches made here, the incident selected
  const resetEmergency = useRef<() => void>(() => undefined);
  const onRestart = useCallback(() => (resetEmergency.current(), setSelectedIncident(null)), []);
  const { view, controllers, loadError, live, status, frame, truthFrame, kpis, epoch, receivedAt } = useLiveFeed(api, showVehicles, showTruth, onRestart);
  const now = useNow(1000);
  // nothing heard for STALE_MS, or the stream is down: what shows is the past, and says how old it is
  const stale = live !== null && (status !== 'open' || (receivedAt !== null && now - receivedAt > STALE_MS));
  const staleFor = receivedAt === null ? null : Math.max(0, Math.round((now - receivedAt) / 1000));
  const street = live?.virtualStreet === true;
  const emergency = useEmergency(api, live, view, canOperate);
  useEffect(() => void (resetEmergency.current = emergency.reset), [emergency.reset]);
  const incidents = useActiveIncidents(api, live);
  const openAlerts = live?.watchlistAlerts?.filter((a) => !a.acknowledged).length ?? 0;
  const vehiclesVisible = showVehicles && zoomedIn && frame !== null;
  const truthShown = showTruth && street && truthFrame !== null;
  const scale = useUiScale();
  const kpi = kpis.at(-1);
  // a cluster's API server: the Cluster tab, its regions ringed on the map by owner while it is open
  const cluster = usePoll(api.cluster, CLUSTER_POLL_MS, !wall, notCluster);
  const clusterView = cluster.value?.cluster ? cluster.value : null;
  const board = useMemo(() => (clusterView ? clusterBoard(clusterView) : null), [clusterView]);
  const spacing = useMemo(() => (view ? networkSpacing(view.roads.filter((r) => r.lanes.length > 0).map((r) => r.lanes[0].points)) : 100), [view]);
  const { layers, stats } = useLiveLayers({
    dotPixels: Math.round(8 * Math.max(1, scale)), gridlockRegions: kpi?.gridlock?.regions ?? null,
    view, live, frame, colourBy, zoom, vehiclesVisible, truthFrame, truthVisible: truthShown && zoomedIn, selected, emergencies: emergency.vehicles, routes: emergency.routes,
    incidents: incidents.active, selectedIncident, picks: emergency.picks, owners: panel === 'cluster' && board ? board.colours : null,
  });
  const onZoom = useCallback((z: number) => setZoom(Math.floor(z * 2) / 2), []);
  // the parking sites on the map while the parking panel is open, coloured by availability
  const parking = useParking(api, panel === 'parking' && !wall);
  const [selectedSite, setSelectedSite] = useState<string | null>(null);
  const shownLayers = useMemo(
    () => (panel === 'parking' && parking.sites ? [...layers, parkingLayer(parking.sites, selectedSite)] : layers),
    [layers, panel, parking.sites, selectedSite],
  );

  const { pickAt } = emergency;
  const onClick = useCallback((info: PickingInfo) => {
    if (info.coordinate && pickAt({ x: info.coordinate[0], y: info.coordinate[1] })) return;
    if (info.layer?.id === 'parking-sites' && info.object) {
      setSelectedSite((info.object as ParkingSiteView).id);
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
  }, [pickAt]);
  const selectIncident = useCallback((i: Incident) => {
    setSelectedIncident(i.id);
    setFocus({ x: i.x, y: i.y, minZoom: INCIDENT_FOCUS_ZOOM });
  }, []);

  const getTooltip = useCallback((info: PickingInfo) => {
    if (!info.object || !live) return null;
    if (info.layer?.id === 'intersections') {
      const d = info.object as InterDatum;
      const phase = live.phases[d.i];
      return `${t('tooltipIntersection', { id: d.ix.id })}\n${phase === d.ix.yellow ? t('tooltipYellow') : t('tooltipPhase', { phase: view ? phaseName(view, d.ix.id, phase, t) : String(phase) })}`;
    }
    if (info.layer?.id === 'incidents') {
      const i = info.object as Incident;
      return [
        t('tooltipIncident', { lane: view ? laneName(view, i.lane, t) : i.lane, id: i.lane }),
        t('incidentAt', { intersection: i.intersection }),
        `${t('incidentBlockedFor', { duration: formatDuration(blockedSeconds(i, live.t)) })} · ${t('incidentSince', { time: formatClock(i.since) })}`,
        t('incidentEvidence', { green: i.evidence.greenSeconds, queue: i.evidence.queue }),
        i.acknowledged ? t('incidentAcknowledged', { by: acknowledgerName(i.acknowledged.by), s: responseSeconds(i) ?? 0 }) : t('incidentUnacknowledged'),
      ].join('\n');
    }
    if (info.layer?.id === 'parking-sites') {
      const p = info.object as ParkingSiteView;
      return t('tooltipParking', { name: p.name, free: p.live.free, bays: p.live.sensored });
    }
    if (info.layer?.id === 'lanes') {
      const l = info.object as LaneShape;
      return t('tooltipLane', { id: l.id, vehicles: live.lanes.vehicles[l.index], queue: live.lanes.queue[l.index], speed: num(live.lanes.speed[l.index], 1) });
    }
    return null;
  }, [live, view, t, num]);

  // one poll of the faults for the wall's alarms and the KPI panel's list
  const faults = useFaults(api);
  if (loadError) return <ErrorLine error={loadError} className="page-error" />;
  if (!view) return <p className="muted page-error">{t('loading')}</p>;
  const staleBanner = stale && (
        <div className="stale-banner" role="alert" data-testid="stale">
          {t('staleData', { age: formatDuration(staleFor ?? 0), time: formatClock(live.t) })}
        </div>
  );
  const mapCanvas = (
    <MapCanvas bounds={view.bounds} spacing={spacing} layers={shownLayers} onClick={onClick} getTooltip={getTooltip} onZoom={onZoom} stats={stats} cursor={emergency.pick ? 'crosshair' : undefined} focus={focus}>
      {emergency.pick && <div className="pick-banner" role="status">{t(emergency.pick === 'origin' ? 'pickOrigin' : 'pickDestination')}</div>}
      {/* only a server running a virtual street (the demo) has a ground truth to show; over the map, so the map keeps its size */}
      {street && !wall && (
        <label className="check truth-toggle">
          <input type="checkbox" name="show-truth" checked={showTruth} onChange={(e) => setShowTruth(e.target.checked)} /> {t('showTruth')}
        </label>
      )}
      <LiveLegend colourBy={colourBy} truth={truthShown && truthFrame ? truthFrame.n : null} parking={panel === 'parking' && parking.sites !== null} />
    </MapCanvas>
  );
  if (wall) {
    // the map at the network's own proportions, as wide as the screen's height allows (CSS: --net-aspect)
    const aspect = (view.bounds.maxX - view.bounds.minX) / Math.max(1, view.bounds.maxY - view.bounds.minY);
    return (
      <div className={stale ? 'live wall-view stale' : 'live wall-view'} data-testid="wall">
        {staleBanner}
        <header className="wall-top">
          <b className="wall-brand">{t('appTitle')}</b>
          <SimControls live={live} status={status} controls={false} />
          <button type="button" name="exit-wall" onClick={onExitWall}>{t('wallExit')}</button>
        </header>
        <div className="wall-body" style={{ '--net-aspect': aspect.toFixed(3) } as CSSProperties}>
          <div className="map-column">{mapCanvas}</div>
          <aside className="wall-side">
            {/* first in the column and pinned to its top: the alarms stay in sight whatever else scrolls */}
            <WallAlarms kpi={kpi} incidents={incidents.active} faults={faults.faults} now={live?.t ?? 0} staleFor={stale ? staleFor : null} view={view} />
            <WallFigures kpis={kpis} />
            <RegionTiles view={view} kpi={kpi} />
          </aside>
        </div>
      </div>
    );
  }
  return (
    <div className={stale ? 'live stale' : 'live'}>
      {staleBanner}
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
              {' '}{showVehicles && !zoomedIn && t('zoomForVehicles')}
            </span>
          </label>
        </div>
        {mapCanvas}
      </div>
      <aside className="sidebar">
        <GridlockAlarm kpi={kpi} />
        <nav className="tabs" role="tablist">
          {PANELS.filter((p) => (p !== 'watchlist' || seesPlates) && (p !== 'cluster' || board !== null)).map((p) => (
            <button type="button" role="tab" key={p} aria-selected={panel === p} className={panel === p ? 'on' : ''} onClick={() => setPanel(p)} data-panel={p}>
              {t(PANEL_LABELS[p])}
              {p === 'incidents' && incidents.active.length > 0 && (
                <span className="count-badge" data-testid="incident-count">{num(incidents.active.length, 0)}</span>
              )}
              {p === 'watchlist' && openAlerts > 0 && (
                <span className="count-badge" data-testid="watchlist-count">{num(openAlerts, 0)}</span>
              )}
            </button>
          ))}
        </nav>
        <div className="panel-body">
          {panel === 'kpis' && (
            <>
              <RegionTiles view={view} kpi={kpi} />
              <KpiPanel kpis={kpis} view={view} faults={faults} />
            </>
          )}
          {panel === 'intersection' && (
            <IntersectionPanel id={selected} view={view} controllers={controllers} tick={live?.t ?? 0} onClose={() => setSelected(null)} />
          )}
          {panel === 'emergency' && (
            <EmergencyPanel
              pick={emergency.pick} picks={emergency.picks} vehicles={emergency.vehicles} lastDispatch={emergency.lastDispatch} unavailable={emergency.unavailable}
              busy={emergency.busy} error={emergency.error}
              onStartPick={emergency.startPick}
              onCancelPick={emergency.cancelPick}
              onDispatch={emergency.dispatch} onRecall={emergency.recall}
            />
          )}
          {panel === 'parking' && (
            <ParkingPanel parking={parking} selected={selectedSite} onSelect={(site) => setSelectedSite(site.id)} />
          )}
          {panel === 'cluster' && clusterView && board && <ClusterPanel view={clusterView} board={board} error={cluster.error} />}
          {panel === 'watchlist' && seesPlates && view && <WatchlistPanel live={live?.watchlistAlerts ?? NO_ALERTS} view={view} />}
          {panel === 'incidents' && (
            <IncidentsPanel
              active={incidents.active} now={live?.t ?? 0} epoch={epoch} unavailable={incidents.unavailable} error={incidents.error}
              selected={selectedIncident} onSelect={selectIncident} view={view}
            />
          )}
        </div>
      </aside>
    </div>
  );
}
