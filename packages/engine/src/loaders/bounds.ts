/** Bounds both loaders hold scenarios to (a SUMO scenario becomes a CityFlow one). */

/**
 * seconds between two vehicles of one flow, at least: 100 vehicles per second
 * (the grid generator's highest demand). Every vehicle is created, so a smaller
 * interval only fills memory.
 */
export const MIN_FLOW_INTERVAL = 0.01;

/** seconds; the shortest cycle (sum of phase times) of a signal with two or more phases: the built-in plan steps through them by their times */
export const MIN_CYCLE = 1;
