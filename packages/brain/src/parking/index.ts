export {
  isOpenAt, isOpenThrough, minutesOf, parseOpeningHours, parseRegister, parseSite, parseTariff, PARKING_ID, SITE_KINDS,
  type OpeningHours, type OpeningPeriod, type ParkingBayDef, type ParkingSite, type Parsed, type SiteKind, type Tariff,
} from './model.js';
export { priceStay } from './tariff.js';
export {
  cancellationRefund, checkWindow, DEFAULT_RESERVATION_RULES, HOLDING_STATUSES, isReservedArrival, overlaps, RESERVATION_STATUSES,
  type Reservation, type ReservationRules, type ReservationStatus,
} from './reservation.js';
export { DriveTimes, rankSites, type GuidanceAnswer, type GuidanceSite, type XY } from './guidance.js';
export { NGSI_PARKING_CONTEXT, NGSI_PARKING_TYPES, siteEntity, siteUrn, spotEntity, spotUrn, type NgsiParkingType, type SiteLive, type SpotStatus } from './ngsi.js';
