export { VirtualCity, deviceId, plateOf, type Breakdown, type FieldDevice, type ParkingBay, type VirtualCityOptions, type VirtualCityState } from './virtual-city.js';
export {
  DEFAULT_SENSING, PERFECT_SENSING, LOOP_SENSING, SENSING_PRESETS, PLATE_CONFUSIONS, CONFUSED_CONFIDENCE, FieldSensors, resolveSensing,
  type Sensing, type SensingOptions, type SensingPreset, type SensorsState,
} from './sensing.js';
