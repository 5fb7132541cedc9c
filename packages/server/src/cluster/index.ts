/** The cluster roles (issue #20), a separate entry (`@citybrain/server/cluster`) so the one-process server does not load the NATS clients. */
export * from './subjects.js';
export * from './event-messages.js';
export { ClusterStartError, connectNats, DEFAULT_DUPLICATE_WINDOW_MS, DEFAULT_PLATES_MAX_AGE_MS, ensureEventsStream, ensurePlatesStream, eventsStreamConfig, keysWithin, openJetStream, platesStreamConfig, type EventsStreamOptions, type NatsOptions, type PlatesStreamOptions } from './nats.js';
export { brainPublicKey, DEFAULT_PUBLISH_TIMEOUT_MS, JetStreamSink, startGateway, type GatewayOptions, type RunningGateway } from './gateway.js';
export { startWriter, type RunningWriter, type WriterOptions } from './writer.js';
export { fairShare, ownershipMoves, type OwnershipMoves, type OwnershipView } from './ownership.js';
export { BrainWorker, WorkerStartError, type BrainWorkerOptions, type WorkerHealth } from './worker.js';
export { followPlans, type PlanFollower } from './plan-follower.js';
export { ClusterFollower, type ClusterFollowerOptions } from './follower.js';
