// deck.gl layers shared by the live map and the replay.
import { PathLayer, ScatterplotLayer, SolidPolygonLayer } from '@deck.gl/layers';
import { VehiclePointsLayer } from './vehicle-points-layer.js';
import { CORRIDOR_COLOUR, CORRIDOR_OUTLINE, INCIDENT_COLOUR, SIGNAL_COLOURS, minHalfWidth, ribbon, type Path, type RGBA, type StopBar } from './geometry.js';

// Lanes and stop bars are filled ribbons, not PathLayers: a SolidPolygonLayer
// fill is one non-instanced draw, which software WebGL renders far faster than
// an instance per path segment. `zoom` keeps them at least ~1 px wide.

interface Strip {
  index: number;
  path: Path;
  width: number;
}

export function laneLayer<T extends Strip>(lanes: T[], colour: (lane: T) => RGBA, trigger: unknown, zoom: number): SolidPolygonLayer<T> {
  const min = minHalfWidth(zoom);
  return new SolidPolygonLayer<T>({
    id: 'lanes',
    data: lanes,
    getPolygon: (d) => ribbon(d.path, Math.max(d.width * 0.4, min)),
    getFillColor: colour,
    updateTriggers: { getFillColor: trigger, getPolygon: min },
    pickable: true,
  });
}

export function stopBarLayer(bars: StopBar[], signals: Uint8Array, trigger: unknown, zoom: number): SolidPolygonLayer<StopBar> {
  const min = minHalfWidth(zoom, 2);
  return new SolidPolygonLayer<StopBar>({
    id: 'signals',
    data: bars,
    getPolygon: (d) => ribbon(d.path, Math.max(d.width * 0.5, min)),
    getFillColor: (d) => SIGNAL_COLOURS[signals[d.index]],
    updateTriggers: { getFillColor: trigger, getPolygon: min },
  });
}

/**
 * Vehicles straight from a Float32Array of [x, y, heading, speed] records
 * (binary attributes: no per-vehicle JavaScript objects), `offset` floats in;
 * `ring` > 0 draws outlines (see VehiclePointsLayer) instead of discs.
 */
export function vehicleLayer(id: string, data: Float32Array, offset: number, n: number, colours: Uint8Array, visible: boolean, radius = 2.2, ring = 0): VehiclePointsLayer {
  return new VehiclePointsLayer({
    id,
    data: {
      length: n,
      attributes: {
        getPosition: { value: data, size: 2, stride: 16, offset: offset * 4 },
        getFillColor: { value: colours, size: 4, normalized: true },
      },
    },
    radius,
    radiusMinPixels: ring > 0 ? 2.5 : 1.2,
    ring,
    parameters: { depthWriteEnabled: false, depthCompare: 'always', blend: false },
    visible,
    pickable: false,
  });
}

/**
 * The green corridor, drawn to be seen across a room: a wide white outline
 * under a bright cyan band, rounded, at least 14 px and 8 px wide.
 */
export function corridorLayers(paths: Path[]): PathLayer<Path>[] {
  const common = { data: paths, getPath: (d: Path) => d, widthUnits: 'common' as const, capRounded: true, jointRounded: true };
  return [
    new PathLayer<Path>({ ...common, id: 'corridor-outline', getWidth: 26, widthMinPixels: 14, getColor: CORRIDOR_OUTLINE }),
    new PathLayer<Path>({ ...common, id: 'corridor', getWidth: 16, widthMinPixels: 8, getColor: CORRIDOR_COLOUR }),
  ];
}

/** What an incident marker needs: where, and which lane it blocks. */
export interface IncidentMarker {
  id: string;
  x: number;
  y: number;
}

const WHITE: RGBA = [255, 255, 255, 255];

/**
 * Active incidents: the blocked lane tinted red, a wide red ring (the pickable
 * target, a clear mark from afar and unlike the emergency vehicles' dots) and
 * a red core; the selected one ringed in white.
 */
export function incidentLayers<T extends IncidentMarker>(incidents: T[], blockedLanes: Path[], selected: string | null) {
  const [r, g, b] = INCIDENT_COLOUR;
  return [
    new PathLayer<Path>({
      id: 'incident-lanes',
      data: blockedLanes,
      getPath: (d) => d,
      getWidth: 5,
      widthUnits: 'common',
      widthMinPixels: 3,
      getColor: [r, g, b, 150],
    }),
    new ScatterplotLayer<T>({
      id: 'incidents',
      data: incidents,
      getPosition: (d) => [d.x, d.y],
      getRadius: 22,
      radiusUnits: 'common',
      radiusMinPixels: 13,
      getFillColor: [r, g, b, 60],
      stroked: true,
      lineWidthUnits: 'pixels',
      getLineWidth: (d) => (d.id === selected ? 4 : 3),
      getLineColor: (d) => (d.id === selected ? WHITE : INCIDENT_COLOUR),
      pickable: true,
      updateTriggers: { getLineWidth: selected, getLineColor: selected },
    }),
    new ScatterplotLayer<T>({
      id: 'incident-cores',
      data: incidents,
      getPosition: (d) => [d.x, d.y],
      getRadius: 6,
      radiusUnits: 'common',
      radiusMinPixels: 5,
      getFillColor: INCIDENT_COLOUR,
      stroked: true,
      getLineColor: WHITE,
      lineWidthMinPixels: 1.5,
    }),
  ];
}
