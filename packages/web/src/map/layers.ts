// deck.gl layers shared by the live map and the replay.
import { PathLayer, SolidPolygonLayer } from '@deck.gl/layers';
import { VehiclePointsLayer } from './vehicle-points-layer.js';
import { SIGNAL_COLOURS, minHalfWidth, ribbon, type Path, type RGBA, type StopBar } from './geometry.js';

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
 * (binary attributes: no per-vehicle JavaScript objects), `offset` floats in.
 */
export function vehicleLayer(id: string, data: Float32Array, offset: number, n: number, colours: Uint8Array, visible: boolean, radius = 2.2): VehiclePointsLayer {
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
    radiusMinPixels: 1.2,
    parameters: { depthWriteEnabled: false, depthCompare: 'always', blend: false },
    visible,
    pickable: false,
  });
}

export function corridorLayer(paths: Path[]): PathLayer<Path> {
  return new PathLayer<Path>({
    id: 'corridor',
    data: paths,
    getPath: (d) => d,
    getWidth: 16,
    widthUnits: 'common',
    widthMinPixels: 6,
    getColor: [56, 189, 248, 120],
    capRounded: true,
    jointRounded: true,
  });
}
