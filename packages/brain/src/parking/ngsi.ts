import type { ParkingSite } from './model.js';

/**
 * Sites and bays in the FIWARE Smart Data Models' Parking shapes
 * (dataModel.Parking: OnStreetParking, OffStreetParking, ParkingSpot), as
 * NGSI-LD keyValues, so city platforms that speak them read CityBrain's.
 */
export const NGSI_PARKING_CONTEXT = [
  'https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld',
  'https://raw.githubusercontent.com/smart-data-models/dataModel.Parking/master/context.jsonld',
] as const;

export const NGSI_PARKING_TYPES = ['OnStreetParking', 'OffStreetParking', 'ParkingSpot'] as const;
export type NgsiParkingType = (typeof NGSI_PARKING_TYPES)[number];

export const siteUrn = (s: Pick<ParkingSite, 'id' | 'kind'>) => `urn:ngsi-ld:${s.kind === 'onStreet' ? 'OnStreetParking' : 'OffStreetParking'}:${s.id}`;
export const spotUrn = (bay: string) => `urn:ngsi-ld:ParkingSpot:${bay}`;

/** What the model's `status` of a ParkingSpot takes. */
export type SpotStatus = 'free' | 'occupied' | 'closed' | 'unknown';

export interface SiteLive {
  /** sensored bays occupied now */
  occupied: number;
  /** bays free now (unoccupied, not held by a reservation) */
  free: number;
  open: boolean;
  /** epoch ms of the latest sensor report at the site, null when none */
  observedAt: number | null;
}

const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
/** GeoJSON wants WGS84: a site registered with only map metres has no `location`. */
const location = (s: ParkingSite) => (s.lon === null || s.lat === null ? undefined : { type: 'Point', coordinates: [s.lon, s.lat] });

/** A site as OnStreetParking or OffStreetParking (keyValues). */
export function siteEntity(s: ParkingSite, live: SiteLive): Record<string, unknown> {
  const unsensored = s.capacity - s.bays.length;
  return strip({
    id: siteUrn(s),
    type: s.kind === 'onStreet' ? 'OnStreetParking' : 'OffStreetParking',
    name: s.name,
    location: location(s),
    category: [s.tariff.perHour > 0 ? 'feeCharged' : 'free'],
    allowedVehicleType: ['car'],
    chargeType: [s.tariff.perHour > 0 ? 'temporaryPrice' : 'free'],
    totalSpotNumber: s.capacity,
    // the unsensored spaces are not counted free: guidance promises only what a sensor saw
    availableSpotNumber: live.free,
    occupiedSpotNumber: live.occupied,
    extraSpotNumber: unsensored > 0 ? unsensored : undefined,
    occupancy: s.bays.length > 0 ? Math.round((live.occupied / s.bays.length) * 1000) / 1000 : undefined,
    status: [live.open ? 'open' : 'closed'],
    refParkingSpot: s.bays.map((b) => spotUrn(b.id)),
    dateObserved: iso(live.observedAt),
    '@context': [...NGSI_PARKING_CONTEXT],
  });
}

/** A sensored bay as ParkingSpot (keyValues). */
export function spotEntity(s: ParkingSite, bay: { id: string }, status: SpotStatus, observedAt: number | null): Record<string, unknown> {
  return strip({
    id: spotUrn(bay.id),
    type: 'ParkingSpot',
    name: bay.id,
    category: [s.kind],
    refParkingSite: siteUrn(s),
    status,
    location: location(s),
    dateObserved: iso(observedAt),
    '@context': [...NGSI_PARKING_CONTEXT],
  });
}

function strip(o: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}
