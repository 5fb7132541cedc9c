export { VirtualCity, deviceId, plateOf, type Breakdown, type FieldDevice, type ParkingBay, type VirtualCityOptions, type VirtualCityState } from './virtual-city.js';
