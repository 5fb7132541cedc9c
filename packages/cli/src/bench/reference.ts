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
  /** Advanced-MP's and Efficient-MP's ATT re-measured in CityFlow under the protocol (15 s decisions, 5 s yellow) */
  advancedMp: number;
  efficientMp: number;
  /**
   * Advanced-CoLight (ICML 2022) as published: in the literature's metric
   * (summaryTravelTime, well below ATT), so comparable only with that column
   */
  advancedColightSummary?: number;
}

/**
 * The controllers with reference figures (fixed-time, max-pressure, Advanced-MP,
 * Efficient-MP re-measured in CityFlow): the control benchmark runs them as
 * the protocol has them, without the supervisor's starvation and ring guards
 * (control/src/core/starvation.ts, ring.ts), which CityFlow's runs never had, so that
 * their figures stay comparable with the stored ones.
 */
export const REFERENCE_CONTROLLERS: readonly string[] = ['fixed', 'max-pressure', 'advanced-mp', 'efficient-mp'];

/** The protocol's run, in simulated seconds: every reference figure is for the first hour from t = 0. */
export const HOUR = 3600;

export const REFERENCE_SCENARIOS: ScenarioRef[] = [
  { key: 'HZ1', dir: 'hangzhou_4x4', roadnet: 'roadnet_4_4.json', flow: 'anon_4_4_hangzhou_real.json', vehicles: 2983, fixed: 580.9, maxPressure: 330.1, advancedMp: 328.9, efficientMp: 331.3, advancedColightSummary: 269.6 },
  { key: 'HZ2', dir: 'hangzhou_4x4', roadnet: 'roadnet_4_4.json', flow: 'anon_4_4_hangzhou_real_5816.json', vehicles: 6984, fixed: 565.8, maxPressure: 428.1, advancedMp: 418.5, efficientMp: 429.1, advancedColightSummary: 296.8 },
  { key: 'JN1', dir: 'jinan_3x4', roadnet: 'roadnet_3_4.json', flow: 'anon_3_4_jinan_real.json', vehicles: 6295, fixed: 509.0, maxPressure: 316.1, advancedMp: 302.3, efficientMp: 315.6, advancedColightSummary: 250 },
  { key: 'JN2', dir: 'jinan_3x4', roadnet: 'roadnet_3_4.json', flow: 'anon_3_4_jinan_real_2000.json', vehicles: 4365, fixed: 425.5, maxPressure: 288.9, advancedMp: 289.1, efficientMp: 287.8 },
  { key: 'JN3', dir: 'jinan_3x4', roadnet: 'roadnet_3_4.json', flow: 'anon_3_4_jinan_real_2500.json', vehicles: 5494, fixed: 450.5, maxPressure: 286.6, advancedMp: 284.5, efficientMp: 286.7, advancedColightSummary: 227.7 },
];

/**
 * A peer's figures as stored in baselines.md, with where and when they were measured: printed
 * beside ours, never divided into a figure measured in another run.
 */
export interface StoredFigures {
  peer: 'CityFlow';
  /** what was timed */
  what: string;
  /** min / median, or the one figure */
  peerSeconds: { min: number; median: number } | number;
  peerPeakMB?: number;
  /** CityBrain measured beside the peer in that same session, where it was */
  oursThenSeconds?: { min: number; median: number };
  oursThenPeakMB?: number;
  vehiclesAt900?: number;
  /** where and when */
  measured: string;
}

const SIDE_BY_SIDE_MACHINE = 'measured 2026-12-06 on a 2-core machine of the kind CI runs on, taskset -c 0, alternating with CityBrain, load average 4-9';

/** baselines.md, "Side by side, one machine": CityFlow built from source (C++ -O2, one thread) and CityBrain run alternately. */
export const SIDE_BY_SIDE = {
  hz1: {
    peer: 'CityFlow', what: 'simulation loop, HZ1 fixed-time 3600 s', peerSeconds: { min: 0.741, median: 0.769 }, peerPeakMB: 26,
    oursThenSeconds: { min: 0.417, median: 0.447 }, oursThenPeakMB: 79, measured: SIDE_BY_SIDE_MACHINE,
  },
  /** the whole process: python3 driver.py (import cityflow, load, run) */
  hz1Process: { peer: 'CityFlow', what: 'whole process, python3 driver.py', peerSeconds: { min: 0.87, median: 0.94 }, measured: SIDE_BY_SIDE_MACHINE },
  /** roadnet + flow load */
  hz1Load: { peer: 'CityFlow', what: 'roadnet + flow load', peerSeconds: { min: 0.034, median: 0.036 }, measured: SIDE_BY_SIDE_MACHINE },
  grid36: {
    peer: 'CityFlow', what: "simulation loop, CityFlow's generator without --tlPlan, 900 s", peerSeconds: { min: 47.8, median: 66.3 }, peerPeakMB: 749,
    oursThenSeconds: { min: 3.44, median: 3.89 }, oursThenPeakMB: 248, measured: SIDE_BY_SIDE_MACHINE,
  },
  grid72: {
    peer: 'CityFlow', what: 'simulation loop, 900 s', peerSeconds: { min: 173.6, median: 187.3 }, peerPeakMB: 2498,
    oursThenSeconds: { min: 8.95, median: 12.39 }, oursThenPeakMB: 559, measured: SIDE_BY_SIDE_MACHINE,
  },
} satisfies Record<string, StoredFigures>;

/** baselines.md, "City scale": CityFlow's own generator with --tlPlan, 36 x 36, built-in plans, 900 s, one thread. */
export const STORED_GRID36_TLPLAN: StoredFigures = {
  peer: 'CityFlow', what: "CityFlow's generator with --tlPlan, built-in plans, 900 s, one thread", peerSeconds: 34.8, peerPeakMB: 642, vehiclesAt900: 18200,
  measured: "measured on a 2-core machine of the kind CI runs on (baselines.md, 'City scale'), CityBrain not run beside it",
};
export const SUMO_DIR = 'hangzhou_4x4/sumo';
export const SUMO_NET = 'hangzhou_4x4_gudang_18041610_1h.net.xml';
export const SUMO_ROUTES = 'hangzhou_4x4_gudang_18041610_1h.rou.xml';
export const SUMO_CFG = 'hangzhou_4x4_gudang_18041610_1h.sumocfg';
