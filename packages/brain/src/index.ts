export * from './events.js';
export { unstorable } from './text.js';
export { JAM_SPACING, LaneEstimate } from './estimate/lane-estimate.js';
export { IncidentDetector, type Incident, type IncidentDetectorOptions, type IncidentDetectorState, type GreenSeconds } from './incidents/incidents.js';
export { BrainTwin, type BrainTwinOptions, type BrainTwinState, type BrainTwinStats } from './twin/brain-twin.js';
export { canonicalPlan, checkPlan, planSchema, PlanBoard, type Plan, type PlanBoardOptions, type UnsignedPlan } from './plans.js';
