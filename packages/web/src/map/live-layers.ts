// The live map's layers: lanes coloured by speed or queue, stop bars, vehicles,
// intersections by phase, green corridors, emergency vehicles, incidents and
// the dispatch picks, from the live feed.
import { ScatterplotLayer } from '@deck.gl/layers';
import { useMemo, useRef } from 'react';
import {
  CORRIDOR_COLOUR, EMPTY_LANE, type RGBA, GRIDLOCK_COLOUR, SignalMap, TRUTH_COLOUR, greenAxes, intersectionColour, laneShapes, queueColour, solidColours, speedColour, vehicleColours, type LaneShape, type Path,
} from './geometry.js';
import { corridorLayers, incidentLayers, laneLayer, stopBarLayer, vehicleLayer } from './layers.js';
import type { EmergencyVehicle, Incident, LiveState, NetworkView, Point, VehicleFrame } from '../types.js';

export type ColourBy = 'speed' | 'queue';
export type InterDatum = { i: number; ix: NetworkView['intersections'][number] };

export interface LiveLayersInput {
  view: NetworkView | null;
  live: LiveState | null;
  frame: VehicleFrame | null;
  colourBy: ColourBy;
  /** zoom in half steps: lanes are re-widened per step */
  zoom: number;
  /** vehicles drawn (subscribed and zoomed in far enough) */
  vehiclesVisible: boolean;
  /** the virtual street's ground truth (the demo's overlay, never the brain's view), and whether it is drawn */
  truthFrame: VehicleFrame | null;
  truthVisible: boolean;
  /** the intersection selected */
  selected: string | null;
  emergencies: EmergencyVehicle[];
  /** routes of the emergency vehicles dispatched here, by id */
  routes: ReadonlyMap<string, string[]>;
  incidents: Incident[];
  selectedIncident: string | null;
  /** dispatch origin and destination picked so far */
  picks: Point[];
  /** intersections' smallest radius on screen, px (default 8) */
  dotPixels?: number;
  /** the regions the gridlock alarm names (KpiSample.gridlock), whose intersections are ringed; null: none */
  gridlockRegions: string[] | null;
  /** a cluster's regions by owner (the Cluster panel): intersection id -> its owner's colour, ringed; null: none */
  owners?: ReadonlyMap<string, RGBA> | null;
}

export function useLiveLayers(p: LiveLayersInput) {
  const { view, live, frame, colourBy, zoom, dotPixels = 8, gridlockRegions, owners = null, vehiclesVisible, truthFrame, truthVisible, selected, emergencies, routes, incidents, selectedIncident, picks } = p;
  const lanes = useMemo(() => (view ? laneShapes(view) : []), [view]);
  const signalMap = useMemo(() => (view ? new SignalMap(view, lanes) : null), [view, lanes]);
  const signals = useMemo(() => (signalMap && live ? signalMap.states(live.phases) : new Uint8Array(lanes.length)), [signalMap, live, lanes]);
  const axes = useMemo(() => (view ? greenAxes(view) : []), [view]);
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
  const locked = useMemo(() => {
    if (!view || !gridlockRegions?.length) return [];
    const ids = new Set(view.regions.filter((r) => gridlockRegions.includes(r.id)).flatMap((r) => r.intersections));
    return inters.filter((d) => ids.has(d.ix.id));
  }, [view, inters, gridlockRegions]);
  const owned = useMemo(() => (owners ? inters.filter((d) => owners.has(d.ix.id)) : []), [inters, owners]);
  const blockedLanes = useMemo(() => {
    const byId = new Map(lanes.map((l) => [l.id, l.path]));
    return incidents.map((i) => byId.get(i.lane)).filter((p): p is Path => p !== undefined);
  }, [lanes, incidents]);
  const onMap = useMemo(() => emergencies.filter((e): e is EmergencyVehicle & { x: number; y: number } => e.x !== null && e.y !== null), [emergencies]);
  const vehicleColourBuf = useMemo(() => (frame ? vehicleColours(frame.data, frame.offset, frame.n) : new Uint8Array(0)), [frame]);
  const truthColours = useRef<Uint8Array | undefined>(undefined);
  const truthColourBuf = useMemo(() => (truthColours.current = solidColours(truthFrame?.n ?? 0, TRUTH_COLOUR, truthColours.current)), [truthFrame]);

  const layers = useMemo(() => {
    if (!view) return [];
    const laneColour = (l: LaneShape) => {
      if (!live || !live.lanes.vehicles[l.index]) return EMPTY_LANE;
      return colourBy === 'speed' ? speedColour(live.lanes.speed[l.index] / (l.maxSpeed || 1)) : queueColour(live.lanes.queue[l.index]);
    };
    return [
      laneLayer(lanes, laneColour, [live?.t, colourBy], zoom),
      stopBarLayer(signalMap?.stopBars ?? [], signals, live?.t, zoom),
      // over the lanes (whatever their colour), under the vehicles
      ...corridorLayers(corridor.paths),
      vehicleLayer('vehicles', frame?.data ?? new Float32Array(0), frame?.offset ?? 2, frame?.n ?? 0, vehicleColourBuf, vehiclesVisible),
      // over the brain's vehicles: rings, so a vehicle the twin has where the street has one shows as a dot in its ring
      vehicleLayer('truth', truthFrame?.data ?? new Float32Array(0), truthFrame?.offset ?? 3, truthFrame?.n ?? 0, truthColourBuf, truthVisible, 3.6, 0.6),
      // the regions in gridlock: a wide red ring round each of their intersections
      interRing('gridlock', locked, 1.6, 16, dotPixels * 1.8, dotPixels, GRIDLOCK_COLOUR),
      // a cluster's regions by owner: a ring in the owner's colour round each intersection
      interRing('owners', owned, 1.3, 13, dotPixels * 1.5, dotPixels, (d) => owners?.get(d.ix.id) ?? [0, 0, 0, 0], owners),
      new ScatterplotLayer<InterDatum>({
        id: 'intersections',
        data: inters,
        getPosition: (d) => [d.ix.x, d.ix.y],
        getRadius: (d) => Math.max(d.ix.width * 0.8, 8),
        radiusUnits: 'common',
        // visible at the fit on a large network, from across a room on a wall
        radiusMinPixels: dotPixels,
        getFillColor: (d) => intersectionColour(live?.phases[d.i] ?? -1, d.ix.yellow, axes[d.i]),
        stroked: true,
        lineWidthUnits: 'pixels',
        getLineWidth: (d) => (d.ix.id === selected ? 3 : corridor.holds.has(d.ix.id) ? 3 : 1),
        getLineColor: (d) => (d.ix.id === selected ? [255, 255, 255, 255] : corridor.holds.has(d.ix.id) ? CORRIDOR_COLOUR : [15, 23, 42, 255]),
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
      ...incidentLayers(incidents, blockedLanes, selectedIncident),
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
  }, [view, axes, dotPixels, locked, owned, owners, lanes, live, colourBy, signalMap, signals, frame, vehicleColourBuf, vehiclesVisible, truthFrame, truthColourBuf, truthVisible, inters, selected, corridor, onMap, incidents, blockedLanes, selectedIncident, picks, zoom]);

  /** items per layer, for window.__citybrain (tests, the frame-rate probe) */
  const stats = useMemo(() => ({
    lanes: lanes.length, intersections: inters.length, vehicles: vehiclesVisible ? frame?.n ?? 0 : 0, truth: truthVisible ? truthFrame?.n ?? 0 : 0,
    corridor: corridor.paths.length, emergency: onMap.length, incidents: incidents.length, gridlock: locked.length, owners: owned.length,
  }), [lanes, inters, vehiclesVisible, frame, truthVisible, truthFrame, corridor, onMap, incidents, locked, owned]);

  return { layers, stats };
}

/**
 * A ring round each of `data`'s intersections, `scale` times its width (at least `minRadius` m and `minPixels`
 * px), in `colour`: the gridlock alarm's and a cluster's owners'. `trigger` redraws the colours when it changes.
 */
function interRing(
  id: string, data: InterDatum[], scale: number, minRadius: number, minPixels: number, dotPixels: number,
  colour: RGBA | ((d: InterDatum) => RGBA), trigger?: unknown,
): ScatterplotLayer<InterDatum> {
  return new ScatterplotLayer<InterDatum>({
    id,
    data,
    getPosition: (d) => [d.ix.x, d.ix.y],
    getRadius: (d) => Math.max(d.ix.width * scale, minRadius),
    radiusUnits: 'common',
    radiusMinPixels: minPixels,
    filled: false,
    stroked: true,
    lineWidthUnits: 'pixels',
    getLineWidth: Math.max(3, dotPixels / 3),
    getLineColor: colour,
    updateTriggers: { getLineColor: trigger },
  });
}
