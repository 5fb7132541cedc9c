export { VirtualCity, deviceId, plateOf, type Breakdown, type FieldDevice, type ParkingBay, type VirtualCityOptions, type VirtualCityState } from './virtual-city.js';
export { cycleGreens, FieldSignalController, PLAN_REFUSALS, roadnetPlan, type FieldSignalControllerOptions, type LocalStep, type PlanRefusal, type PlanVerdict } from './signal-controller.js';
