// core/: the framework every controller runs in
export * from './core/controller.js';
export * from './core/supervisor.js';
export * from './core/gridlock.js';
export * from './core/starvation.js';
export * from './core/ring.js';
export * from './core/gate.js';
export * from './core/loop.js';
export * from './core/run.js';
export * from './core/registry.js';
export * from './core/emergency.js';
export * from './core/assignment.js';
export { signalRules, minGreenServed } from './core/signal-rules.js';
// controllers/: the algorithms
export * from './controllers/fixed-time.js';
export * from './controllers/max-pressure.js';
export * from './controllers/webster.js';
export * from './controllers/actuated.js';
export * from './controllers/sotl.js';
export * from './controllers/schedule.js';
export * from './controllers/green-wave.js';
export { pressurePlus, choosePhase, type PressurePlusOptions } from './controllers/pressure-plus.js';
export * from './controllers/advanced-mp.js';
export * from './controllers/predictive/index.js';
// measures/: what controllers read of the traffic
export { phaseLaneSets, type PhaseLaneSets } from './measures/phase-lanes.js';
export { bestPhase, gappedOut, phaseDemand, phasePressure, servedLanes } from './measures/pressure.js';
export { LaneLoad } from './measures/lane-load.js';
export { efficientPressure, runningDemand, RunningLoad } from './measures/efficient-pressure.js';
export { SpillBack, fullThresholds, JAM_SPACING, FULL_SHARE, MIN_FULL, SPILL_WARN_SHARE } from './measures/spill-back.js';
export { SpillGuard, SPILL_GAP, SPILL_MAX } from './measures/spill-guard.js';
export { linkExits, lanesOnRings, LaneRings, type LaneExits } from './measures/lane-exits.js';
