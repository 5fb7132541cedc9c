/**
 * Traffic observations as the FIWARE Smart Data Models' TrafficFlowObserved
 * (dataModel.Transportation), NGSI-LD keyValues: one entity per reported lane,
 * from the brain's lane estimate (vehicles, arrival rate) and the KPIs' lane
 * speeds, so city platforms that speak it read CityBrain's observations.
 *
 * - intensity: vehicles over the observation period (the estimate's arrival
 *   rate, a lane's discharge averaged over RATE_SECONDS, times the period);
 *   dateObservedFrom/To: the period, ending at the lane's latest report.
 * - occupancy: the share of the lane the estimate's vehicles take
 *   (vehicles x JAM_SPACING / length, at most 1): a space occupancy, as video
 *   detectors give it (the model's time occupancy needs a loop's own figure).
 * - averageVehicleSpeed: km/h, the latest report's mean speed.
 * - laneId: the lane's number in its road from 1 (the innermost);
 *   refRoadSegment: urn:ngsi-ld:RoadSegment:<road id>.
 * - location: the lane's centre line as a GeoJSON LineString in WGS84, when a
 *   projection of the network's metres is known.
 */
import type { Network } from '@citybrain/engine';
import { JAM_SPACING, RATE_SECONDS, type LaneEstimate } from './lane-estimate.js';

export const NGSI_TRAFFIC_CONTEXT = [
  'https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld',
  'https://raw.githubusercontent.com/smart-data-models/dataModel.Transportation/master/context.jsonld',
] as const;

export const TRAFFIC_FLOW_TYPE = 'TrafficFlowObserved';
export const trafficFlowUrn = (laneId: string) => `urn:ngsi-ld:${TRAFFIC_FLOW_TYPE}:${laneId}`;

/** Metres east and north of the network's origin to [longitude, latitude]. */
export type Projection = (x: number, y: number) => [number, number];

/** A local projection: the network's (0, 0) at `origin`, x east and y north in metres (an equirectangular approximation, good to a metre over a city). */
export function localProjection(origin: { lon: number; lat: number }): Projection {
  if (!(Math.abs(origin.lat) <= 85 && Math.abs(origin.lon) <= 180)) throw new RangeError(`origin must be a longitude in [-180, 180] and latitude in [-85, 85], got ${origin.lon}, ${origin.lat}`);
  const perLat = 111_320, perLon = 111_320 * Math.cos((origin.lat * Math.PI) / 180);
  return (x, y) => [Math.round((origin.lon + x / perLon) * 1e7) / 1e7, Math.round((origin.lat + y / perLat) * 1e7) / 1e7];
}

export interface TrafficFlowSources {
  net: Network;
  estimate: Pick<LaneEstimate, 'vehicles' | 'arrivals' | 'reportedAt'>;
  /** each lane's latest measured mean speed, m/s (ObservedKpis.laneReport) */
  speed: (lane: number) => number;
  project?: Projection;
}

/** One lane's TrafficFlowObserved (keyValues), or undefined for a lane no device reported. */
export function trafficFlowEntity(src: TrafficFlowSources, lane: number): Record<string, unknown> | undefined {
  const { net, estimate } = src;
  const at = estimate.reportedAt[lane];
  if (!(at > 0)) return undefined;
  const laneId = net.drivableId(lane);
  const from = at - RATE_SECONDS * 1000;
  const e: Record<string, unknown> = {
    id: trafficFlowUrn(laneId),
    type: TRAFFIC_FLOW_TYPE,
    name: laneId,
    dateObserved: `${new Date(from).toISOString()}/${new Date(at).toISOString()}`,
    dateObservedFrom: new Date(from).toISOString(),
    dateObservedTo: new Date(at).toISOString(),
    intensity: Math.round(estimate.arrivals[lane] * RATE_SECONDS),
    occupancy: Math.round(Math.min(1, (estimate.vehicles[lane] * JAM_SPACING) / net.length[lane]) * 1000) / 1000,
    averageVehicleSpeed: Math.round(src.speed(lane) * 3.6 * 10) / 10,
    laneId: net.laneIndexInRoad[lane] + 1,
    refRoadSegment: `urn:ngsi-ld:RoadSegment:${net.roadIds[net.laneRoad[lane]]}`,
    '@context': [...NGSI_TRAFFIC_CONTEXT],
  };
  if (src.project) {
    const coordinates: [number, number][] = [];
    for (let p = net.ptStart[lane]; p < net.ptStart[lane + 1]; p++) coordinates.push(src.project(net.ptX[p], net.ptY[p]));
    if (coordinates.length >= 2) e.location = { type: 'LineString', coordinates };
  }
  return e;
}

/** Every reported lane's TrafficFlowObserved (keyValues), in lane order. */
export function trafficFlowEntities(src: TrafficFlowSources): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let l = 0; l < src.net.nLanes; l++) {
    const e = trafficFlowEntity(src, l);
    if (e) out.push(e);
  }
  return out;
}
