/**
 * structuredClone, present in every runtime CityBrain supports (Node 17+,
 * browsers, workers), typed here: the pure packages load no lib that declares it.
 */
export const structuredClone: <T>(value: T) => T = (globalThis as unknown as { structuredClone: <T>(value: T) => T }).structuredClone;
