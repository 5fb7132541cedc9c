/**
 * The engine without the SUMO loader (its XML parser alone takes longer to load than HZ1's
 * whole roadnet), calibration and the study's reports: the network, the simulation and the
 * CityFlow format. What a command running a CityFlow scenario needs (the CLI's `simulate`
 * starts faster on it) and what the controllers import; the package's main entry re-exports it.
 */
export * from './format/cityflow.js';
export * from './errors.js';
export * from './loaders/cityflow.js';
export { rapidjsonDouble } from './loaders/rapidjson-number.js';
export * from './generate/grid.js';
export { Network, LINK_PRIORITY } from './sim/network.js';
export { Simulation, TURN_SPEED, type SimulationOptions, type Metrics, type AddVehicleOptions, type PlaceVehicleOptions, type VehicleStatus } from './sim/simulation.js';
export type { SimState } from './sim/state.js';
/** the parameters of a vehicle a flow or the API does not set (CityFlow's defaults) */
export { DEFAULT_VEHICLE } from './sim/flows.js';
export { seedRng, seedMt19937, nextU32, type RandomKind } from './sim/rng.js';
export { compassOf, polylineLength, type Compass } from './sim/geometry.js';
export { meanCi, type MeanCi } from './results/stats.js';
