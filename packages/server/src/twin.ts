// The browser-safe part of the server: the City Brain loop over the twin and
// the API's read models, with no Node API and no I/O (engine + control only).
// The dashboard runs it in a Web Worker for its serverless sandbox
// (packages/web/src/fixture), so both answer from the same code.
export { CityRuntime, type CityRuntimeOptions, type Region } from './city/runtime.js';
export { ComparisonRun, replaySlice, type ReplayFrame } from './city/comparison-run.js';
export type { ComparisonPoint, ComparisonRecord } from './store/store.js';
export * from './city/compare-kpis.js';
export { comparisonCsv, comparisonReport, verdictSentence, type ComparisonExportInput } from './city/compare-export.js';
export { networkView } from './api/network-view.js';
export { EmergencyRoutePlanner } from './city/emergency-route.js';
export { emergencyView, intersectionDetail, intersectionSummaries, kpiRange, liveStateView, regionOf, simulationView, TRUTH_FRAME_TAG, truthFrame, vehicleFrame } from './city/views.js';
