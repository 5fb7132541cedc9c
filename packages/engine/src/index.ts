// the network, simulation and CityFlow format: also an entry of its own (@citybrain/engine/core)
export * from './core.js';
export * from './loaders/sumo.js';
export * from './generate/stress.js';
export { ReplayRecorder, replayRoadnet } from './sim/replay.js';
export { RoadGraph } from './routing.js';
export { COUNT_POSITIONS, parseCounts, parseTurnCounts, type CountPosition, type CountRow, type TurnCountRow } from './calibrate/counts.js';
export { calibrateDemand, calibrateDemandByRuns, candidateRoutes, geh, LaneEntries, ROUTE_SHARINGS, type RouteSharing, type CalibrationOptions, type CalibrationResult, type CalibrationRun, type FittedCount, type LagTable } from './calibrate/fit.js';
export { RunRecorder, levelOfService, LOS_THRESHOLDS, type RunRecorderOptions, type FinishedTotals, type TripRecord, type ApproachRecord, type IntersectionRecord, type TimeSample, type LevelOfService } from './results/run-recorder.js';
export { reportHtml, comparisonReportHtml, type ReportInput, type ComparisonReportInput } from './results/report-html.js';
export { toCsv, toJsonLines } from './results/csv.js';
