// Smart parking as the dashboard shows it: the server's sites with their live
// availability, a site's occupancy over time, reservations (packages/server/src/api/parking-routes.ts).
import { ScatterplotLayer } from '@deck.gl/layers';
import type { ParkingLive, ParkingSiteView } from './parking-types.js';

export type { ParkingBucket, ParkingLive, ParkingReservation, ParkingSiteView } from './parking-types.js';

export type Availability = 'free' | 'few' | 'full' | 'closed';

/** A site's state by its free bays: none (or closed), a few (a quarter or less of the sensored), plenty. */
export function availabilityOf(l: ParkingLive): Availability {
  if (!l.open) return 'closed';
  if (l.free <= 0) return 'full';
  return l.free <= Math.max(1, Math.floor(l.sensored / 4)) ? 'few' : 'free';
}

export const AVAILABILITY_COLOUR: Record<Availability, [number, number, number]> = {
  free: [34, 197, 94],
  few: [245, 158, 11],
  full: [239, 68, 68],
  closed: [100, 116, 139],
};

/** The sites on the map, coloured by availability; the selected one ringed. */
export function parkingLayer(sites: readonly ParkingSiteView[], selected: string | null) {
  return new ScatterplotLayer<ParkingSiteView>({
    id: 'parking-sites',
    data: sites,
    getPosition: (d) => [d.x, d.y],
    getRadius: 14,
    radiusUnits: 'common',
    radiusMinPixels: 7,
    getFillColor: (d) => [...AVAILABILITY_COLOUR[availabilityOf(d.live)], 210],
    stroked: true,
    lineWidthUnits: 'pixels',
    getLineWidth: (d) => (d.id === selected ? 3 : 1),
    getLineColor: (d) => (d.id === selected ? [255, 255, 255] : [15, 23, 42]),
    pickable: true,
    updateTriggers: { getFillColor: sites.map((s) => s.live.free).join(','), getLineWidth: selected, getLineColor: selected },
  });
}

/** Minor units as money: 1050 CNY → "10.50 CNY". */
export function formatMoney(minor: number, currency: string): string {
  return `${(minor / 100).toFixed(2)} ${currency}`;
}
