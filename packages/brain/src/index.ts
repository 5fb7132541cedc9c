export * from './events.js';
export { unstorable } from './text.js';
export { localProjection, NGSI_TRAFFIC_CONTEXT, TRAFFIC_FLOW_TYPE, trafficFlowEntities, trafficFlowEntity, trafficFlowUrn, type Projection, type TrafficFlowSources } from './estimate/traffic-flow.js';
export { JAM_SPACING, LOOP_STANDING_OCCUPANCY, LOOP_STANDING_SPEED, RATE_SECONDS, LaneEstimate } from './estimate/lane-estimate.js';
export { IncidentDetector, type Incident, type IncidentDetectorOptions, type IncidentDetectorState, type GreenSeconds } from './incidents/incidents.js';
export {
  checkFeedColumns, compileFeed, conditionsAt, EVENT_ENTRY_ROADS, FEED_COLUMNS, FEED_KINDS, weatherFactors, WEATHER_BOUNDS, WEATHER_CONDITIONS,
  type CompiledFeed, type FeedKind, type FeedRow, type TwinConditions, type WeatherCondition,
} from './twin/conditions.js';
export { BrainTwin, isTwinVehicle, type AvlTrack, type BrainTwinOptions, type BrainTwinState, type BrainTwinStats } from './twin/brain-twin.js';
export { canonicalPlan, checkPlan, inProcessPlanSigner, planSchema, PlanBoard, type Confirmations, type Plan, type PlanBoardOptions, type PlanSigner, type UnsignedPlan } from './plans.js';
export { congestionIndex, type KpiSample, type RegionKpis } from './kpis/kpi-sample.js';
export { GRIDLOCK_LANES, STANDING_QUEUE, STANDING_SECONDS, StandstillWatch, type GridlockAlarm, type StandstillState } from './kpis/standstill.js';
export {
  ObservedKpis, type KpiRegion, type ObservedKpisMemory, type ObservedKpisOptions, type ObservedKpisState, type ObservedKpisStats, type RoadTravelTimes,
} from './kpis/observed-kpis.js';
export { OCR_CONFUSIONS, confusionTable, forEachConfusable } from './kpis/plates.js';
export { TimeBuckets, type TimeBucketsState } from './kpis/time-buckets.js';
export { cityRegions, regionOfIntersections, type Region } from './regions.js';
export * from './parking/index.js';
export * from './watchlist/index.js';
export * from './hub/index.js';
