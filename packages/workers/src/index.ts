export { RolloutWorkerPool, workerPool, type WorkerPoolOptions } from './pool.js';
