/**
 * The peer simulators' published figures this project is measured against
 * (../shared/reference/baselines.md: CityFlow, one thread, 3600 s, seed 0;
 * the reference non-learned controllers re-measured in CityFlow; learned state
 * of the art: Advanced-CoLight, ICML 2022, as published, in the literature's metric).
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
  /** Advanced-MP's and Efficient-MP's ATT re-measured in CityFlow under the protocol (15 s decisions, 5 s yellow) */
  advancedMp: number;
  efficientMp: number;
  /**
   * Advanced-CoLight (ICML 2022) as published: in the literature's metric
   * (summaryTravelTime, well below ATT), so comparable only with that column
   */
  advancedColightSummary?: number;
}

/** The protocol's run, in simulated seconds: every reference figure is for the first hour from t = 0. */
export const HOUR = 3600;

export const REFERENCE_SCENARIOS: ScenarioRef[] = [
  { key: 'HZ1', dir: 'hangzhou_4x4', roadnet: 'roadnet_4_4.json', flow: 'anon_4_4_hangzhou_real.json', vehicles: 2983, fixed: 580.9, maxPressure: 330.1, cityflowWallFixed: 2.11, advancedMp: 328.9, efficientMp: 331.3, advancedColightSummary: 269.6 },
  { key: 'HZ2', dir: 'hangzhou_4x4', roadnet: 'roadnet_4_4.json', flow: 'anon_4_4_hangzhou_real_5816.json', vehicles: 6984, fixed: 565.8, maxPressure: 428.1, cityflowWallFixed: 2.59, advancedMp: 418.5, efficientMp: 429.1, advancedColightSummary: 296.8 },
  { key: 'JN1', dir: 'jinan_3x4', roadnet: 'roadnet_3_4.json', flow: 'anon_3_4_jinan_real.json', vehicles: 6295, fixed: 509.0, maxPressure: 316.1, cityflowWallFixed: 2.71, advancedMp: 302.3, efficientMp: 315.6, advancedColightSummary: 250 },
  { key: 'JN2', dir: 'jinan_3x4', roadnet: 'roadnet_3_4.json', flow: 'anon_3_4_jinan_real_2000.json', vehicles: 4365, fixed: 425.5, maxPressure: 288.9, cityflowWallFixed: 2.15, advancedMp: 289.1, efficientMp: 287.8 },
  { key: 'JN3', dir: 'jinan_3x4', roadnet: 'roadnet_3_4.json', flow: 'anon_3_4_jinan_real_2500.json', vehicles: 5494, fixed: 450.5, maxPressure: 286.6, cityflowWallFixed: 2.28, advancedMp: 284.5, efficientMp: 286.7, advancedColightSummary: 227.7 },
];

/** CityFlow's 36 x 36 generated grid, 900 s, built-in plans, one thread. */
export const CITYFLOW_GRID36 = { wallSeconds: 34.8, peakMemoryMB: 642, vehiclesAt900: 18200 };
/** SUMO 1.15 on hangzhou_4x4/sumo, static programs. */
export const SUMO_HANGZHOU = { wallSeconds: 5.06 };
export const SUMO_DIR = 'hangzhou_4x4/sumo';
export const SUMO_NET = 'hangzhou_4x4_gudang_18041610_1h.net.xml';
export const SUMO_ROUTES = 'hangzhou_4x4_gudang_18041610_1h.rou.xml';
export const SUMO_CFG = 'hangzhou_4x4_gudang_18041610_1h.sumocfg';
