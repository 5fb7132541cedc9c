export * from './events.js';
export { unstorable } from './text.js';
export { JAM_SPACING, LaneEstimate, estimatedView } from './estimate/lane-estimate.js';
export { IncidentDetector, type Incident, type IncidentDetectorOptions, type IncidentDetectorState, type GreenSeconds } from './incidents/incidents.js';
export { canonicalPlan, checkPlan, planSchema, PlanBoard, type Plan, type PlanBoardOptions, type UnsignedPlan } from './plans.js';
