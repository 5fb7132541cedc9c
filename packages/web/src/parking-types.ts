// The parking API's answers as the dashboard reads them (packages/server/src/api/parking-routes.ts): the server's
// contract types, narrowed to the fields the dashboard uses; types only.
import type { AvailabilityBucket, ParkingSite, Reservation, SiteLiveView } from '@citybrain/server/contract';

export type ParkingLive = Omit<SiteLiveView, 'id' | 'name' | 'kind' | 'x' | 'y'>;

export type ParkingSiteView = Pick<ParkingSite, 'id' | 'name' | 'kind' | 'x' | 'y' | 'capacity' | 'tariff'> & { bays: { id: string }[]; live: ParkingLive };

export type ParkingBucket = AvailabilityBucket;

export type ParkingReservation = Pick<Reservation, 'id' | 'site' | 'bay' | 'from' | 'to' | 'status' | 'price' | 'currency' | 'blockedAt'>;
