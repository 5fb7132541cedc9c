// The parking API's answers as the dashboard reads them (packages/server/src/api/parking-routes.ts); types only.

export interface ParkingLive {
  capacity: number;
  sensored: number;
  occupied: number;
  free: number;
  reserved: number;
  /** bays whose sensor has not reported yet */
  unknown: number;
  open: boolean;
  observedAt: number | null;
}

export interface ParkingSiteView {
  id: string;
  name: string;
  kind: 'onStreet' | 'offStreet';
  x: number;
  y: number;
  capacity: number;
  tariff: { currency: string; perHour: number; freeMinutes: number; dailyCap: number | null };
  bays: { id: string }[];
  live: ParkingLive;
}

export interface ParkingBucket {
  bucket: number;
  samples: number;
  occupied: number;
  free: number;
  minFree: number;
}

export interface ParkingReservation {
  id: string;
  site: string;
  bay: string;
  from: number;
  to: number;
  status: 'booked' | 'arrived' | 'completed' | 'cancelled' | 'expired';
  price: number;
  currency: string;
  blockedAt: number | null;
}
