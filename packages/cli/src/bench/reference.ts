/**
 * The peer simulators' published figures this project is measured against
 * (../shared/reference/baselines.md: CityFlow, one thread, 3600 s, seed 0;
 * learned state of the art: Advanced-CoLight, ICML 2022, as reported).
 */
export interface ScenarioRef {
  key: string;
  dir: string;
  roadnet: string;
  flow: string;
  vehicles: number;
  fixed: number;
  maxPressure: number;
  cityflowWallFixed: number;
  learnedSota?: number;
}

/** The protocol's run, in simulated seconds: every reference figure is for the first hour from t = 0. */
export const HOUR = 3600;

export const REFERENCE_SCENARIOS: ScenarioRef[] = [
  { key: 'HZ1', dir: 'hangzhou_4x4', roadnet: 'roadnet_4_4.json', flow: 'anon_4_4_hangzhou_real.json', vehicles: 2983, fixed: 580.9, maxPressure: 330.1, cityflowWallFixed: 2.11, learnedSota: 270 },
  { key: 'HZ2', dir: 'hangzhou_4x4', roadnet: 'roadnet_4_4.json', flow: 'anon_4_4_hangzhou_real_5816.json', vehicles: 6984, fixed: 565.8, maxPressure: 428.1, cityflowWallFixed: 2.59, learnedSota: 297 },
  { key: 'JN1', dir: 'jinan_3x4', roadnet: 'roadnet_3_4.json', flow: 'anon_3_4_jinan_real.json', vehicles: 6295, fixed: 509.0, maxPressure: 316.1, cityflowWallFixed: 2.71, learnedSota: 250 },
  { key: 'JN2', dir: 'jinan_3x4', roadnet: 'roadnet_3_4.json', flow: 'anon_3_4_jinan_real_2000.json', vehicles: 4365, fixed: 425.5, maxPressure: 288.9, cityflowWallFixed: 2.15 },
  { key: 'JN3', dir: 'jinan_3x4', roadnet: 'roadnet_3_4.json', flow: 'anon_3_4_jinan_real_2500.json', vehicles: 5494, fixed: 450.5, maxPressure: 286.6, cityflowWallFixed: 2.28, learnedSota: 228 },
];

/** CityFlow's 36 x 36 generated grid, 900 s, built-in plans, one thread. */
export const CITYFLOW_GRID36 = { wallSeconds: 34.8, peakMemoryMB: 642, vehiclesAt900: 18200 };
/** SUMO 1.15 on hangzhou_4x4/sumo, static programs. */
export const SUMO_HANGZHOU = { wallSeconds: 5.06 };
export const SUMO_DIR = 'hangzhou_4x4/sumo';
export const SUMO_NET = 'hangzhou_4x4_gudang_18041610_1h.net.xml';
export const SUMO_ROUTES = 'hangzhou_4x4_gudang_18041610_1h.rou.xml';
export const SUMO_CFG = 'hangzhou_4x4_gudang_18041610_1h.sumocfg';
