export * from './format/cityflow.js';
export * from './errors.js';
export * from './loaders/cityflow.js';
export * from './loaders/sumo.js';
export * from './generate/grid.js';
