export * from './events.js';
export { unstorable } from './text.js';
export { JAM_SPACING, LOOP_STANDING_OCCUPANCY, LOOP_STANDING_SPEED, RATE_SECONDS, LaneEstimate, estimatedView } from './estimate/lane-estimate.js';
export { IncidentDetector, type Incident, type IncidentDetectorOptions, type IncidentDetectorState, type GreenSeconds } from './incidents/incidents.js';
