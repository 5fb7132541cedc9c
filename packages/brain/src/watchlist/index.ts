export { CN_PROVINCES, Confusions, correctRead, normalisePlate, parsePlate, plateFormat, WATCHLIST_CONFUSIONS, type PlateFormat } from './plates.js';
export { canonicalKey, KEYED_PLATE_PREFIX, KeyedPlates, storedPlate, type KeyedHit, type PlateKeyer } from './keyed-plates.js';
export {
  ALERT_KINDS, LIST_KINDS, PlateWatchlist, VEHICLE_USES,
  type AlertKind, type ListEntry, type ListKind, type PlateRead, type ReadEvidence, type ReadOutcome, type TaxiOptions, type TripEvidence, type VehicleUse,
  type WatchlistAlert, type WatchlistOptions, type WatchlistStats,
} from './matcher.js';
export { parseRegisterCsv, type RegisterRow } from './register-csv.js';
