export { AVL_PERIOD, PICK_UP_EVERY, VirtualCity, plateOf, type PlateTruth, type Breakdown, type FieldDevice, type ParkingBay, type VirtualCityOptions, type VirtualCityState } from './virtual-city.js';
export { cycleGreens, FieldSignalController, PLAN_REFUSALS, roadnetPlan, type FieldSignalControllerOptions, type LocalStep, type PlanRefusal, type PlanVerdict } from './signal-controller.js';
export { deviceId } from './device-id.js';
export { FieldSignals, type FieldSignalsOptions } from './signals.js';
export {
  DEFAULT_SENSING, PERFECT_SENSING, LOOP_SENSING, SENSING_PRESETS, PLATE_CONFUSIONS, CONFUSED_CONFIDENCE, FieldSensors, resolveSensing,
  type Sensing, type SensingOptions, type SensingPreset, type SensorsState,
} from './sensing.js';
export { ParkingDrivers, type ParkingApp, type ParkingBooking, type ParkingDriversOptions } from './parking-drivers.js';
