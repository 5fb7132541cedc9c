export * from './controller.js';
export * from './supervisor.js';
export * from './fixed-time.js';
export * from './max-pressure.js';
export * from './registry.js';
export * from './run.js';
