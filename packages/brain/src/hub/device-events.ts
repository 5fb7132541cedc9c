/**
 * The device events as hub datasets: one dataset per kind
 * (`device_events_lane`, `_signal`, `_plate`, `_parking`, `_avl`), owned by
 * the operations department, one batch per UTC day (a daily partition).
 * Plates are never stored: a plate read carries its keyed hash (the server's
 * key), and that dataset is classified personal with the hash its personal
 * column. Pure: the server reads the events from its store and writes them.
 */
import type { Event } from '../events.js';
import type { DatasetSpec } from './model.js';
import type { HubValue } from './rows.js';

/** The department that owns the device events' datasets (registered by the server when absent). */
export const OPERATIONS_DEPARTMENT = { id: 'operations', name: 'City Brain operations (device events)' } as const;

export const DEVICE_EVENT_KINDS = ['lane', 'signal', 'plate', 'parking', 'avl'] as const;
export type DeviceEventKind = (typeof DEVICE_EVENT_KINDS)[number];

export const deviceEventsDataset = (kind: DeviceEventKind): string => `device_events_${kind}`;

const common = {
  owner: OPERATIONS_DEPARTMENT.id, updateFrequency: 'daily', licence: 'CC-BY-4.0', retentionDays: null,
} as const;

/** Each kind's dataset: its schema (the event's fields, `ts` as a UTC timestamp) and classification. */
export const DEVICE_EVENT_DATASETS: Record<DeviceEventKind, DatasetSpec> = {
  lane: {
    ...common, id: deviceEventsDataset('lane'), title: 'Lane detector reports', classification: 'internal',
    description: 'Every lane detector report the operations server admitted: vehicles counted, occupancy and mean speed over the interval, and (video detectors) vehicles and queue on the lane at its end. One batch per UTC day.',
    columns: [
      { name: 'ts', type: 'timestamp', nullable: false, description: 'end of the counting interval (UTC)' },
      { name: 'device', type: 'string', nullable: false }, { name: 'intersection', type: 'string', nullable: false }, { name: 'lane', type: 'string', nullable: false },
      { name: 'count', type: 'integer', nullable: false, description: 'vehicles that passed during the interval' },
      { name: 'occupancy', type: 'double', nullable: false, description: 'share of the interval the detector was occupied, 0..1' },
      { name: 'speed', type: 'double', nullable: false, description: 'mean speed, m/s (0 when no vehicle passed)' },
      { name: 'interval', type: 'integer', nullable: false, description: 'seconds' },
      { name: 'vehicles', type: 'integer', description: 'video detectors: vehicles on the lane at the end of the interval' },
      { name: 'queue', type: 'integer', description: 'video detectors: of which stopped' },
    ],
  },
  signal: {
    ...common, id: deviceEventsDataset('signal'), title: 'Signal controller reports', classification: 'internal',
    description: 'The phase each signal controller reported showing, and whether it ran the brain\'s plans or its own. One batch per UTC day.',
    columns: [
      { name: 'ts', type: 'timestamp', nullable: false }, { name: 'device', type: 'string', nullable: false }, { name: 'intersection', type: 'string', nullable: false },
      { name: 'phase', type: 'integer', nullable: false }, { name: 'mode', type: 'string', description: 'central or local' },
    ],
  },
  plate: {
    ...common, id: deviceEventsDataset('plate'), title: 'Plate reads (plates as keyed hashes)', classification: 'personal',
    description: 'Every plate read: the camera, where, and the plate as a keyed hash (HMAC-SHA-256 under the server\'s plate key: equal plates, equal hashes; the plate itself is not stored). One batch per UTC day.',
    columns: [
      { name: 'ts', type: 'timestamp', nullable: false }, { name: 'device', type: 'string', nullable: false }, { name: 'camera', type: 'string', nullable: false },
      { name: 'intersection', type: 'string', nullable: false }, { name: 'lane', type: 'string' },
      { name: 'plate_hash', type: 'string', nullable: false, personal: true, description: 'keyed hash of the plate read' },
      { name: 'confidence', type: 'double', nullable: false }, { name: 'position', type: 'string', description: 'stop-line, entry or exit' },
    ],
  },
  parking: {
    ...common, id: deviceEventsDataset('parking'), title: 'Parking bay sensors', classification: 'internal',
    description: 'Every parking bay sensor report: the bay and whether it is occupied. One batch per UTC day.',
    columns: [{ name: 'ts', type: 'timestamp', nullable: false }, { name: 'device', type: 'string', nullable: false }, { name: 'bay', type: 'string', nullable: false }, { name: 'occupied', type: 'boolean', nullable: false }],
  },
  avl: {
    ...common, id: deviceEventsDataset('avl'), title: 'Vehicle locations (emergency vehicles\' AVL units)', classification: 'restricted',
    description: 'Every position report of an AVL unit (emergency vehicles): road, lane, metres from the lane\'s start, speed. One batch per UTC day.',
    columns: [
      { name: 'ts', type: 'timestamp', nullable: false }, { name: 'device', type: 'string', nullable: false }, { name: 'vehicle', type: 'string', nullable: false },
      { name: 'road', type: 'string', nullable: false }, { name: 'lane', type: 'integer', nullable: false }, { name: 'distance', type: 'double', nullable: false },
      { name: 'speed', type: 'double', nullable: false }, { name: 'heading', type: 'double' }, { name: 'lat', type: 'double' }, { name: 'lng', type: 'double' },
    ],
  },
};

/**
 * An event as its dataset's row (values in the schema's order, `ts` as epoch
 * microseconds). A plate read needs `plateHash` (the server's keyed hash).
 */
export function deviceEventRow(e: Event, plateHash: (plate: string) => string): HubValue[] {
  const ts = BigInt(e.ts) * 1000n;
  switch (e.kind) {
    case 'lane': return [ts, e.device, e.intersection, e.lane, e.count, e.occupancy, e.speed, e.interval, e.vehicles ?? null, e.queue ?? null];
    case 'signal': return [ts, e.device, e.intersection, e.phase, e.mode ?? null];
    case 'plate': return [ts, e.device, e.camera, e.intersection, e.lane ?? null, plateHash(e.plate), e.confidence, e.position ?? null];
    case 'parking': return [ts, e.device, e.bay, e.occupied];
    case 'avl': return [ts, e.device, e.vehicle, e.road, e.lane, e.distance, e.speed, e.heading ?? null, e.lat ?? null, e.lng ?? null];
  }
}

/**
 * The lane reports' hourly rollup: per lane and UTC hour, reports, vehicles,
 * mean occupancy and speed, the longest queue. A derived dataset (its lineage
 * names the lane dataset and this SQL), written by the hub from each daily
 * partition as it is published, so that a month of citywide hourly figures
 * reads some 2 million rows, not 100 million.
 */
export const LANE_HOURLY_DATASET: DatasetSpec = {
  ...common, id: 'device_events_lane_hourly', title: 'Lane detector reports, hourly', classification: 'internal',
  description: 'Per lane and UTC hour, from the lane detector reports (device_events_lane): reports, vehicles counted, mean occupancy, mean speed of the reports that counted vehicles, the longest queue. One batch per UTC day, written with the day\'s partition.',
  columns: [
    { name: 'hour', type: 'timestamp', nullable: false, description: 'start of the UTC hour' },
    { name: 'intersection', type: 'string', nullable: false }, { name: 'lane', type: 'string', nullable: false },
    { name: 'reports', type: 'integer', nullable: false }, { name: 'vehicles', type: 'integer', description: 'vehicles counted in the hour' },
    { name: 'occupancy', type: 'double', description: 'mean occupancy, 0..1' }, { name: 'speed', type: 'double', description: 'mean speed of the reports with vehicles, m/s' },
    { name: 'max_queue', type: 'integer', description: 'video detectors: the longest queue reported' },
  ],
};

/** The rollup's SQL over one day of lane reports (the table `src`), its columns in the dataset's order. */
export const LANE_HOURLY_SQL = "SELECT date_trunc('hour', ts) AS hour, intersection, lane, count(*) AS reports, CAST(sum(count) AS BIGINT) AS vehicles, " +
  'avg(occupancy) AS occupancy, avg(speed) FILTER (WHERE count > 0) AS speed, max(queue) AS max_queue FROM src GROUP BY ALL ORDER BY hour, intersection, lane';
