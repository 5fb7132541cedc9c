export * from './format/cityflow.js';
export * from './errors.js';
export * from './loaders/cityflow.js';
export * from './loaders/sumo.js';
export * from './generate/grid.js';
export { Network } from './sim/network.js';
export { Simulation, type SimulationOptions, type Metrics, type AddVehicleOptions, type VehicleStatus } from './sim/simulation.js';
export type { SimState } from './sim/state.js';
export { ReplayRecorder, replayRoadnet } from './sim/replay.js';
