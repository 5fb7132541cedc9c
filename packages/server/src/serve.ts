import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import websocket from '@fastify/websocket';
import fastifyStatic from '@fastify/static';
import { Gauge, Counter } from 'prom-client';
import type { Scenario } from '@citybrain/engine';
import { DEFAULT_CONTROLLER, type Controller } from '@citybrain/control';
import { buildApp, type LogOptions } from './app.js';
import { Auth, bootstrapTokens, type AuthOptions, type Role } from './auth.js';
import { openStore, DEFAULT_STORE_URL } from './store/open.js';
import type { EventStore } from './store/store.js';
import { MqttIngest } from './mqtt.js';
import { DEFAULT_DOWNSAMPLE, DEFAULT_RETENTION_MS, formatDuration, startRetention, type DownsampleOptions } from './retention.js';
import type { ClockSkew } from '@citybrain/brain';
import type { SensingOptions, SensingPreset } from '@citybrain/field';
import { nodeControllerHost } from './city/controller-host.js';
import { laneCheck } from './city/lane-check.js';
import { CityRuntime } from './city/runtime.js';
import { CityPersistence, restoreOperatorState, scenarioFingerprint } from './city/persistence.js';
import { FIELD_SOURCE, fieldAdmission } from './city/field-admission.js';
import { cityRoutes, type CityAccess } from './api/city-routes.js';
import { spatRoutes } from './api/spat-routes.js';
import { planRoutes } from './api/plan-routes.js';
import { clusterRoutes, type ClusterFeed } from './api/cluster-routes.js';
import { loadBrainKey, type BrainKey } from './plans/brain-key.js';
import type { PlanBoard } from '@citybrain/brain';
import { PlanPublisher, publishBoardPlans } from './plans/plan-publisher.js';
import { citySpat } from './city/spat.js';
import { auditedActions } from './api/audited.js';
import { liveRoutes } from './api/live.js';
import { compareRoutes } from './api/compare-routes.js';
import { emergencyRoutes } from './api/emergency-routes.js';
import { emergencyView } from './city/views.js';
import { dataRoutes } from './api/data-routes.js';
import { activeIncidents, incidentRoutes } from './api/incident-routes.js';
import { parkingRoutes } from './api/parking-routes.js';
import { ParkingService } from './parking/service.js';
import { SandboxPaymentProvider, type PaymentProvider } from './parking/payment.js';
import { twinRoadSpeed, virtualCityRegister } from './parking/city-parking.js';
import { parseRegister } from '@citybrain/brain';
import { HttpError } from './errors.js';
import { PLATE_ROLES, watchlistRoutes } from './api/watchlist-routes.js';
import { WatchlistService, type RegisterRows, type WatchlistSettings } from './watchlist/service.js';
import { keyedPlateCheck, loadPlateKey, plateKeyer } from './watchlist/plate-key.js';
import { storedPlate } from '@citybrain/brain';
import { openWatchlistStore } from './store/watchlist-store.js';
import { DEFAULT_UNMATCHED_READ_RETENTION_MS, startReadRetention } from './retention.js';
import { Hub, type HubEngine, type HubLimits } from './hub/hub.js';
import { hubRoutes } from './api/hub-routes.js';
import { openRoutes, type OpenDataOptions } from './api/open-routes.js';
import { TwinFeeds } from './hub/feeds.js';
import { DeviceEventPublisher, type DeviceEventPublisherOptions } from './hub/device-events.js';

export interface ServerOptions {
  /** the city the virtual city runs */
  scenario: Scenario;
  /** what the scenario's loader warned about (e.g. flows CityFlow drops, from loadCityflowScenario): logged at start */
  scenarioWarnings?: readonly string[];
  /**
   * run a virtual street in this process; default true. false: the brain
   * alone, its devices elsewhere (`citybrain field`, or real ones) reporting
   * through ingestion and reading its plans over MQTT or HTTP
   */
  street?: boolean;
  /** `sqlite:PATH` (default `sqlite:./citybrain-data/citybrain.db`) or `postgres://…` */
  storeUrl?: string;
  /** an open store to use instead of storeUrl (the server closes it on close) */
  store?: EventStore;
  /** create the PostgreSQL database storeUrl names when it does not exist */
  createDatabase?: boolean;
  host?: string;
  /** 0 picks a free port */
  port?: number;
  /** controller in charge at start; default DEFAULT_CONTROLLER (schedule) */
  controller?: string;
  /** simulated seconds per second; default 1 */
  speed?: number;
  /** start the virtual city's clock at once; default true */
  run?: boolean;
  /** MQTT broker to ingest field devices from, e.g. mqtt://127.0.0.1:1883; detected incidents are published there too */
  mqttUrl?: string;
  /**
   * the MQTT session's topic prefix (default 'citybrain'), client id (default
   * this server's own, kept across restarts: see sessionClientId) and shared
   * subscription group (servers in one group share the device messages)
   */
  mqttSession?: { topicPrefix?: string; clientId?: string; shareGroup?: string };
  /** vehicles breaking down in the virtual city per simulated hour, for the incident detection to find; default 0 */
  breakdownsPerHour?: number;
  /** the virtual city's device models (README, "Sensing"); default DEFAULT_SENSING */
  sensing?: SensingOptions | SensingPreset;
  /** seconds a signal controller holds the brain's last plan before it runs its local plan; default 10 */
  watchdog?: number;
  /**
   * how far a device's event ts may be from this server's clock: default 5 min
   * ahead, 7 days behind; false accepts any. The virtual city's own events
   * are not held to it (every other check applies to them): they carry its
   * simulated clock, ahead of the server's when it runs faster than real time.
   */
  clockSkew?: ClockSkew | false;
  /** keep events this many ms (by observation time); default a day (DEFAULT_RETENTION_MS); Infinity keeps them forever */
  retentionMs?: number;
  /** log options (level, destination) or false for none */
  logger?: false | LogOptions;
  /** merge old lane reports; default DEFAULT_DOWNSAMPLE (after an hour, one per lane per 5 minutes), none when retentionMs is Infinity; false for none */
  downsample?: DownsampleOptions | false;
  /** ms between two snapshots of the virtual city in the store (one is also taken on close); default 60000 */
  snapshotIntervalMs?: number;
  /** hears of every route as it is registered (e.g. to check the route table) */
  onRoute?: (route: RouteOptions) => void;
  auth?: AuthOptions;
  /** where the first operator token is printed; default stderr */
  printToken?: (line: string) => void;
  /** third-party controllers offered beside the built-in ones */
  extraControllers?: Record<string, () => Controller>;
  /** the dashboard build to serve at `/`; default the dashboard shipped in this package (web/), else packages/web/dist, when it exists */
  webRoot?: string | false;
  /** the PEM file of the brain's plan-signing key (made on first start); default beside a SQLite database, in PostgreSQL's state table */
  brainKeyFile?: string;
  /** where parking payments go; default the built-in sandbox (no network) */
  paymentProvider?: PaymentProvider;
  /** a parking register file's text (JSON or CSV, parking/model.ts) and its name for errors: its sites registered at start */
  parkingRegister?: { text: string; file: string };
  /** bookings per hour per intersection by the virtual city's drivers who reserve with an app; default 2 */
  parkingBookingsPerHour?: number;
  /**
   * the plate watchlist's rules (see PlateWatchlist), the city's plate key
   * (base64, >= 32 bytes; default CITYBRAIN_PLATE_KEY, else made on first
   * start beside the data) and how long reads matching nothing are kept
   * (default DEFAULT_UNMATCHED_READ_RETENTION_MS); the taxi rule's pick-up
   * points default to the virtual city's
   */
  watchlist?: WatchlistSettings & {
    plateKey?: string; unmatchedReadRetentionMs?: number;
    /** with a virtual street: import its register (the registered plates of its flows' vehicles over this many simulated seconds) when the register is empty; default none */
    streetRegisterSeconds?: number;
  };
  /** the virtual city's cloned plates and unlicensed taxis (VirtualCityOptions), for the watchlist to find; default none */
  virtualPlates?: { clonedShare?: number; illegalTaxis?: number; unregisteredShare?: number };
  /**
   * the API/dashboard server of a cluster (`citybrain serve --cluster`; needs
   * street false): it controls nothing and publishes no plans (the brain
   * workers do); its brain follows every partition of the event stream (its
   * own ingestion goes to the stream too), its board the workers' verified
   * plans; history from the store the writers fill; `GET /api/v1/cluster`
   * from the buckets. The runtime's snapshot is neither restored nor saved
   * (the stream's recent past rebuilds the brain).
   */
  cluster?: ClusterFeed;
  /** the city data hub: where its Parquet files live (default: `hub/` beside a SQLite database, else ./citybrain-data/hub) and its query and upload limits */
  hub?: { /** where the rows live and queries run: 'duckdb' (default, Parquet files in `dir`) or 'postgres' (tables in the store's schema; the store must be PostgreSQL) */ engine?: HubEngine; dir?: string; limits?: HubLimits; /** the device events published into the hub, a dataset per kind, a batch per closed UTC day (default on; false: off) */ deviceEvents?: DeviceEventPublisherOptions | false };
  /** the open catalogue's title, publisher, public base URL, and where the network is on the globe (open-routes.ts) */
  openData?: OpenDataOptions;
}

export interface RunningServer {
  app: FastifyInstance;
  runtime: CityRuntime;
  store: EventStore;
  /** the plate watchlist (its rules, store and alerts) */
  watchlist: WatchlistService;
  auth: Auth;
  url: string;
  /** tokens created at first start (shown once) */
  createdTokens: { name: string; role: Role; token: string }[];
  /** where the data lives and its size at start */
  data: { location: string; bytes: number };
  /** how long events are kept, ms (Infinity: forever) */
  retentionMs: number;
  /** plans out to the field controllers: each intersection's latest plan and confirmation, and the key that signs the plans */
  plans: { board: PlanBoard; key: BrainKey };
  /** smart parking: sites, availability, reservations, payments */
  parking: ParkingService;
  /** the city data hub: departments, datasets, grants, queries */
  hub: Hub;
  close(): Promise<void>;
}

// An installed @citybrain/server carries the built dashboard in its own web/
// (scripts/pack.mjs puts it there); in the checkout it is the web package's build.
/** The app the virtual city's reserving drivers use: the owner of their reservations. */
export const VIRTUAL_CITY_APP = 'virtual-city-app';

const DEFAULT_WEB_ROOT = [new URL('../web/', import.meta.url), new URL('../../web/dist/', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((dir) => existsSync(join(dir, 'index.html'))) ?? fileURLToPath(new URL('../../web/dist/', import.meta.url));

/**
 * Starts the operations server: the store, tokens, device ingestion (HTTP and
 * optionally MQTT), the virtual city under the brain's control, the REST and
 * WebSocket API with its OpenAPI document, Prometheus metrics and the dashboard.
 */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const cluster = opts.cluster;
  if (cluster && opts.street !== false) throw new RangeError('a cluster\'s API server runs no virtual street (street: false): the street reports to the gateways');
  const store = opts.store ?? (await openStore(opts.storeUrl ?? DEFAULT_STORE_URL, { createDatabase: opts.createDatabase }));
  const auth = new Auth(store, opts.auth);
  let created: Awaited<ReturnType<typeof bootstrapTokens>>['created'];
  let brainKey: BrainKey;
  let plateKey: Buffer;
  try {
    ({ created } = await bootstrapTokens(auth, { print: opts.printToken }));
    brainKey = await loadBrainKey(store, { keyFile: opts.brainKeyFile });
    plateKey = await loadPlateKey(store, opts.watchlist?.plateKey);
  } catch (e) {
    // a bad CITYBRAIN_TOKENS or key file: the store's threads would keep the process alive
    await store.close();
    throw e;
  }
  const app = buildApp({ store, sink: cluster?.sink, auth, logger: opts.logger, onRoute: opts.onRoute, limits: { clockSkew: opts.clockSkew } });
  // plates are personal data: the event log, the brain's matching state and its snapshot hold their keyed hash only;
  // the clear read lives in memory on its way to the watchlist and the travel-time matching (and in a hit's alert)
  const keyer = plateKeyer(plateKey);
  const plateKeyOf = (plate: string) => storedPlate(keyer, plate);
  app.ingest.setStoredForm((e) => (e.kind === 'plate' ? { ...e, plate: plateKeyOf(e.plate) } : e));

  // the field: the virtual city's devices report through the same pipeline as real ones
  const pipeline = app.ingest;
  const runtime = new CityRuntime(opts.scenario, {
    street: opts.street,
    // the rollout-based controllers decide in a worker thread: the API, ingestion and shutdown never wait for them
    // (a cluster's API server decides nothing: no worker thread)
    controllerHost: cluster ? undefined : nodeControllerHost,
    // a cluster's API server controls no intersection: the brain workers do
    controlled: cluster ? new Set<number>() : undefined,
    // the plans are signed with the brain's key: the street's signal controllers, here or elsewhere, obey only those
    planSigner: brainKey,
    controller: opts.controller,
    speed: opts.speed,
    breakdownsPerHour: opts.breakdownsPerHour,
    ...opts.virtualPlates,
    sensing: opts.sensing,
    watchdog: opts.watchdog,
    extraControllers: opts.extraControllers,
    // its devices' events pass the same admission as any device's, each under its own device's scope (not the clock skew: see EventClock);
    // without a street there are none: every event comes through ingestion under a real token
    plateKey: plateKeyOf,
    admit: (events) => admitField!(events),
    sink: (events) => pipeline.ingest(events, FIELD_SOURCE),
    onError: (e) => app.log.error({ err: e }, 'the virtual city stopped on an error'),
  });

  // a refusal is a bug of the virtual city: loud (an error in the log, counted in citybrain_ingest_rejected_total), never silent
  const street = runtime.street;
  const admitField = street && fieldAdmission(pipeline, street.devices, ({ event, reason, message }) =>
    app.log.error({ device: event.device, event: event.id, reason }, `virtual-city event refused: ${message}`), (id) => street.device(id));

  // the brain's lane-state estimate and incident detection learn from every durable lane event, the virtual city's and real devices' alike
  // (a cluster's: from the stream, its own ingestion's among them)
  if (!cluster) pipeline.onAccepted((events) => runtime.ingested(events));
  // the plate watchlist judges every durable plate read, and keeps plates only as keyed hashes (the clear plate only in an alert)
  const wlSettings = opts.watchlist ?? {};
  let watchlist: WatchlistService;
  try {
    watchlist = await WatchlistService.start({
      ...wlSettings, store: await openWatchlistStore(store), keyer, net: runtime.sim.net, log: app.log,
      taxi: { pickUpPoints: runtime.street?.pickUpPoints, ...wlSettings.taxi },
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  // (a cluster's: every plate read as read, through the gateways or posted here, comes from the plates stream, see follow below)
  if (!cluster) pipeline.onAccepted((events) => watchlist.ingest(events));
  // the demo: the virtual street's vehicle register (what its data bureau would hand over), imported on first start,
  // in the background: a day of the street's plates (about 100,000) took seconds the server would otherwise not answer
  // in; until it is in, the register is empty and the unregistered rule is off (it judges nothing against an empty register)
  const horizon = wlSettings.streetRegisterSeconds;
  const street0 = runtime.street;
  let stopping = false;
  const registerImport = horizon && street0 && watchlist.matcher.register.size === 0
    ? (async () => {
      // after the server is up; keyed a slice at a time with the event loop let in between (a day of a busy grid is
      // over 600,000 plates, two HMACs each), and taken in whole at the end: a half-loaded register would flag the rest
      await new Promise((r) => setTimeout(r, 0));
      const plates = street0.registerPlates(horizon);
      const rows: RegisterRows = [];
      let count = 0;
      for (;;) {
        const slice: string[] = [];
        for (let n = plates.next(); !n.done && slice.push(`${n.value},private`) < 5000; n = plates.next());
        if (slice.length === 0 || stopping) break;
        count += slice.length;
        rows.push(...watchlist.parseRegister(`plate,use\n${slice.join('\n')}\n`));
        await new Promise((r) => setImmediate(r));
      }
      if (stopping) return;
      // audited first, as every import (see watchlist-routes)
      await store.recordAction({
        actor: 'citybrain server', role: 'system', action: 'import-register', target: 'watchlist:register',
        before: { vehicles: 0 }, after: { replace: true, rows: count, source: `the virtual street's register (${horizon} s of its flows)` },
      });
      if (!(await watchlist.replaceRegisterInSlices(rows, () => stopping))) return;
      app.log.info({ vehicles: count }, 'watchlist: the virtual street\'s register imported');
    })().catch((e: unknown) => app.log.error({ err: e }, 'watchlist: the virtual street\'s register was not imported'))
    : Promise.resolve();
  // so a device reports only lanes of this network at the intersections it may report on: the estimate trusts the lane id
  const lanes = laneCheck(runtime.sim.net);
  pipeline.setEventCheck((e, path) => keyedPlateCheck(e, path) ?? lanes(e, path));
  // a revoked device's reports stop counting at once, not when genuine reports outdate them (one dated ahead would hold its lanes)
  const stopRevokeNews = auth.onRevoke(({ id, device }) => {
    if (device === undefined) return;
    const lanes = runtime.estimate.forgetDevice(device);
    runtime.incidents.forget(lanes);
    if (lanes.length > 0) app.log.warn({ device, token: id, lanes: lanes.length }, 'revoked device: its lane reports are dropped from the estimate');
  });

  // the city resumes where it stood (when the stored snapshot is of this scenario), with what operators set
  const persistence = new CityPersistence(store, runtime, scenarioFingerprint(opts.scenario, {
    interval: runtime.sim.interval, detectorPeriod: runtime.street?.detectorPeriod ?? 0, bays: runtime.street?.bays.length ?? 0,
  }), app.log);
  if (!cluster) await persistence.restore();
  const operatorSet = await restoreOperatorState(store, runtime, app.log);

  const access: CityAccess = {
    require: (...roles: Role[]) => auth.requireRole(...roles),
    who: (req: FastifyRequest) => ({
      actor: req.principal ? `${req.principal.name} (${req.principal.tokenId})` : 'anonymous',
      role: req.principal?.role ?? 'none',
    }),
  };
  // every operator action: audited and applied together, or neither (503 while the store is down)
  const audited = auditedActions(store);
  // the city data hub: its metadata in the store's state rows, its data as Parquet files in its folder
  const footprint = await store.footprint();
  let hub: Hub;
  try {
    hub = await Hub.open({
      store, limits: opts.hub?.limits, engine: opts.hub?.engine,
      dir: opts.hub?.dir ?? (store.backend === 'sqlite' ? join(dirname(footprint.location), 'hub') : resolve('citybrain-data', 'hub')),
    });
  } catch (e) {
    await store.close();
    throw e;
  }

  // the device events into the hub: each closed UTC day once, a dataset per kind (plates as their keyed hash)
  let publisher: DeviceEventPublisher | undefined;
  if (opts.hub?.deviceEvents !== false && !cluster) {
    publisher = new DeviceEventPublisher(hub, store, plateKeyOf, opts.hub?.deviceEvents || {});
    publisher.start((e) => app.log.error({ err: e }, 'publishing device events into the hub failed; tried again at the next run'));
  }

  registerCityMetrics(app, runtime);
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  await app.register(cityRoutes, { runtime, access, audited });
  await app.register(spatRoutes, { runtime, access });
  const plans = { board: runtime.plans, key: brainKey };
  await app.register(planRoutes, { ...plans, access });
  await app.register(clusterRoutes, { feed: cluster, access });
  await app.register(emergencyRoutes, { runtime, roadnet: opts.scenario.roadnet, access, audited });
  await app.register(incidentRoutes, { runtime, access, audited });
  await app.register(compareRoutes, { runtime, scenario: opts.scenario, access, audited });
  await app.register(dataRoutes, { store, auth, access, departmentExists: (id) => hub.departments.has(id) });
  // datasets marked as feeds (roadworks, events, weather) applied to the brain's twin as their rows arrive (a cluster's API server controls nothing: its workers' twins are not fed yet)
  const feeds = cluster ? undefined : new TwinFeeds(hub, runtime.twin, () => runtime.ts, app.log);
  await feeds?.start();
  await app.register(hubRoutes, { hub, access, feeds });
  await app.register(openRoutes, { ...opts.openData, hub, traffic: { net: runtime.twin.net, estimate: runtime.estimate, observed: runtime.observed } });
  // smart parking: occupancy from the parking sensors' durable events, reservations and payments through the store
  const parking = new ParkingService({
    store: store.parking,
    provider: opts.paymentProvider ?? new SandboxPaymentProvider(),
    now: () => Math.max(Date.now(), runtime.ts),
    roadnet: opts.scenario.roadnet,
    roadSpeed: twinRoadSpeed(runtime.sim),
    onFlag: (r, why) => {
      parkingFlags.inc();
      app.log.warn({ reservation: r.id, bay: r.bay, site: r.site }, `parking: a car in bay ${r.bay}, reserved by another (${why})`);
    },
    onError: (e, what) => app.log.error({ err: e }, `parking: ${what} not applied`),
  });
  const parkingFlags = new Counter({ name: 'citybrain_parking_blocked_reservations_total', help: 'Reservations whose bay held another car in their window (flagged)', registers: [app.metrics] });
  await parking.start();
  if (opts.parkingRegister) {
    const reg = parseRegister(opts.parkingRegister.text, opts.parkingRegister.file);
    if ('error' in reg) {
      await store.close();
      throw new Error(reg.error);
    }
    await parking.putSites(reg.ok);
  } else if (street && parking.listSites().length === 0 && street.bays.length > 0) {
    await parking.putSites(virtualCityRegister(street.bays));
  }
  if (!cluster) pipeline.onAccepted((events) => parking.ingested(events));
  // the demo's drivers who reserve: an app on the street, booking through the service's own path (as the API's route does) at the nearest site guidance gives;
  // keys unique to this run (a restarted street's driver-1 is not the last run's: the same key would be an idempotency conflict)
  const bookingRun = Date.now().toString(36);
  street?.useParkingApp({
    async book(b) {
      for (const g of parking.guidance({ x: b.x, y: b.y }, 3, true)) {
        try {
          const r = await parking.reserve({ app: VIRTUAL_CITY_APP, payer: b.driver, site: g.site, from: b.from, to: b.to, idempotencyKey: `${bookingRun}:${b.driver}` });
          if (r.reservation.status === 'booked') return { bay: r.reservation.bay };
        } catch (e) {
          if (!(e instanceof HttpError && e.code === 'CB_BAY_TAKEN')) throw e;
        }
      }
      return undefined;
    },
  }, { bookingsPerHour: opts.parkingBookingsPerHour });
  let parkingBusy = false;
  const parkingTimer = setInterval(() => {
    if (parkingBusy) return;
    parkingBusy = true;
    parking.tick().catch((e: unknown) => app.log.error({ err: e }, 'parking: expiry and availability sampling failed')).finally(() => { parkingBusy = false; });
  }, 1000);
  parkingTimer.unref();
  await app.register(parkingRoutes, { parking, access, audited });
  await app.register(watchlistRoutes, { watchlist, access, audited, now: () => runtime.ts });
  await app.register(liveRoutes, {
    runtime, auth, extras: () => ({ emergency: emergencyView(runtime), incidents: activeIncidents(runtime) }),
    // plates only to the roles that see them
    privateExtras: { roles: PLATE_ROLES, extras: () => ({ watchlistAlerts: watchlist.recent() }) },
  });

  const webRoot = opts.webRoot === undefined ? DEFAULT_WEB_ROOT : opts.webRoot;
  if (webRoot && existsSync(webRoot)) {
    await app.register(fastifyStatic, { root: webRoot, prefix: '/', index: 'index.html' });
  } else {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply.type('text/html').send('<!doctype html><title>CityBrain</title><p>CityBrain operations server is running. The dashboard is not built (run <code>npm run build</code>); the API is documented at <a href="/docs">/docs</a>.</p>'));
  }

  // MQTT hands over queued messages as soon as it connects: the pipeline opens (with its event checks in place) once the app is ready
  await app.ready();
  let mqtt: MqttIngest | undefined;
  if (opts.mqttUrl) mqtt = await MqttIngest.start({ url: opts.mqttUrl, ...opts.mqttSession, pipeline, auth, logger: app.log });
  // an incident goes out the moment it is detected or cleared: to the log, and to the police's systems over MQTT
  const stopIncidentNews = runtime.incidents.onChange((incident, change) => {
    app.log.warn({ incident: incident.id, lane: incident.lane, intersection: incident.intersection, change }, `incident ${change}`);
    mqtt?.publish(`incidents/${incident.intersection}`, { type: `incident.${change}`, incident }).catch((e: unknown) => app.log.error({ err: e, incident: incident.id }, 'incident not published over MQTT'));
  });
  // a watchlist hit goes out the moment it is raised: to the log (without the plate), and to the police's systems over MQTT
  const stopAlertNews = watchlist.onAlert((a) => {
    app.log.warn({ alert: a.id, kind: a.kind, intersection: 'read' in a.alert.evidence ? a.alert.evidence.read.intersection : undefined }, `watchlist alert: ${a.kind}`);
    mqtt?.publish(`alerts/${a.kind}`, { type: 'watchlist.alert', alert: a }).catch((e: unknown) => app.log.error({ err: e, alert: a.id }, 'watchlist alert not published over MQTT'));
  });
  const cityNow = () => Math.max(Date.now(), runtime.ts);
  const flushTimer = setInterval(() => watchlist.flush(runtime.ts), 10_000);
  flushTimer.unref();
  const readRetention = startReadRetention(watchlist.store, {
    matchedMs: opts.retentionMs ?? DEFAULT_RETENTION_MS, unmatchedMs: wlSettings.unmatchedReadRetentionMs ?? DEFAULT_UNMATCHED_READ_RETENTION_MS, now: cityNow, logger: app.log,
  });
  const stopSpat = mqtt ? publishSpat(runtime, mqtt, app.log) : () => {};
  const planOut = mqtt && new PlanPublisher(mqtt.client, { topicPrefix: opts.mqttSession?.topicPrefix });
  const stopPlans = planOut ? publishBoardPlans(plans.board, planOut, (e, plan) => app.log.error({ err: e, intersection: plan.intersection }, 'plan not published over MQTT')) : () => {};
  const retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
  const downsample = opts.downsample ?? (Number.isFinite(retentionMs) ? DEFAULT_DOWNSAMPLE : false);
  const retention = Number.isFinite(retentionMs) || downsample ? startRetention(store, {
    retentionMs, downsample: downsample || undefined, logger: app.log,
    // ages count on the virtual city's clock too: accelerated, it runs ahead of the wall clock
    now: () => Math.max(Date.now(), runtime.ts),
  }) : undefined;

  for (const w of opts.scenarioWarnings ?? []) app.log.warn(`scenario: ${w}`);
  const address = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8080 });
  if (operatorSet.running ?? opts.run ?? true) runtime.start();
  if (cluster) {
    // every partition into the brain (the stream's recent past first) and the parking service, the workers' plans onto the board
    await cluster.follow({
      events: (events) => {
        runtime.ingested(events);
        parking.ingested(events);
      },
      plans: runtime.plans, verify: brainKey.verify,
      plates: async (reads) => {
        watchlist.ingest(reads);
        await watchlist.settled();
      },
    });
  } else persistence.start(opts.snapshotIntervalMs ?? 60_000);
  const data = await store.footprint();
  app.log.info({
    url: address, store: store.backend, data: data.location, dataBytes: data.bytes, retention: formatDuration(retentionMs),
    controller: opts.controller ?? DEFAULT_CONTROLLER, speed: runtime.speed,
  }, 'CityBrain is running');

  let closed = false;
  return {
    app, runtime, store, auth, url: address, createdTokens: created, data, retentionMs, plans, parking, watchlist, hub,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(parkingTimer);
      runtime.stop();
      persistence.stop();
      stopIncidentNews();
      stopAlertNews();
      clearInterval(flushTimer);
      readRetention.stop();
      stopSpat();
      stopPlans();
      stopRevokeNews();
      retention?.stop();
      await mqtt?.close();
      await app.close();
      await cluster?.close().catch((e: unknown) => app.log.error({ err: e }, 'cluster: closing the NATS connection failed'));
      // the street's batch in flight settles before the stores it feeds close (its consumers: the brain, watchlist, parking)
      await runtime.holdDelivery();
      stopping = true;
      await registerImport;
      await watchlist.settled();
      await watchlist.store.close();
      // after ingestion drained: events it could not store are in the snapshot, to be sent again
      if (!cluster) await persistence.save().catch((e: unknown) => app.log.error({ err: e }, 'virtual city snapshot on shutdown failed'));
      await parking.settled().catch(() => {});
      while (parkingBusy) await new Promise((r) => setTimeout(r, 10));
      feeds?.stop();
      await publisher?.stop();
      await hub.close();
      await store.close();
    },
  };
}

/**
 * SPaT out: once a wall-clock second, each intersection's SPaT (its time on the
 * city's clock) to `citybrain/intersections/{id}/spat` (the id percent-encoded:
 * an imported junction's id may hold MQTT's / + #). Wall seconds, not
 * simulated ones: at 100x a simulated second would flood subscribers, and a
 * paused city still shows its signals. QoS 0, not retained: each message
 * supersedes the last, so a lost one is replaced within a second, and neither
 * a redelivered nor a retained one should tell a vehicle of a stale light.
 */
function publishSpat(rt: CityRuntime, mqtt: MqttIngest, log: FastifyBaseLogger): () => void {
  let failing = false;
  const timer = setInterval(() => {
    for (const ix of citySpat(rt).intersections) {
      const spat = { timeStamp: ix.moy, name: 'citybrain', intersections: [ix] };
      mqtt.publish(`intersections/${encodeURIComponent(ix.name)}/spat`, spat, 0).then(() => { failing = false; }, (e: unknown) => {
        // once per outage, not once per intersection and second
        if (!failing) log.error({ err: e }, 'SPaT not published over MQTT');
        failing = true;
      });
    }
  }, SPAT_PERIOD_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Wall-clock ms between two SPaT publications of an intersection. */
export const SPAT_PERIOD_MS = 1000;

/** The brain's own figures on /metrics beside ingestion's. */
function registerCityMetrics(app: FastifyInstance, rt: CityRuntime): void {
  const registers = [app.metrics];
  new Gauge({ name: 'citybrain_sim_time_seconds', help: 'Seconds on the brain\'s clock since it started (simulated seconds)', registers, collect() { this.set(rt.sim.time); } });
  new Gauge({ name: 'citybrain_vehicles_in_network', help: 'Vehicles in the network, as the latest KPI sample estimates them from the devices', registers, collect() { this.set(rt.kpis.at(-1)?.vehiclesInNetwork ?? 0); } });
  new Gauge({ name: 'citybrain_intersections_degraded', help: 'Signalised intersections decided by max-pressure on stop-line queues because their detectors do not see the approaches their controller needs (loops only, or silent)', registers, collect() { this.set(rt.assignment.blind.size); } });
  new Gauge({ name: 'citybrain_detectors_silent', help: 'Detected lanes whose detector has sent no report for 4 of its intervals (at least 15 s): their view counts as nothing until it reports again', registers, collect() { let n = 0; for (const x of rt.estimate.silent) n += x; this.set(n); } });
  new Gauge({ name: 'citybrain_intersections_local', help: 'Signalised intersections whose field controller runs its local plan (no plan heard for its watchdog time, or no confirmation for twice that)', registers, collect() { this.set(rt.plans.localIntersections(rt.ts).length); } });
  new Gauge({ name: 'citybrain_plans_refused', help: 'Plans the virtual street\'s signal controllers refused so far (a bug when above 0)', registers, collect() { this.set(rt.plansRefused); } });
  new Gauge({ name: 'citybrain_average_travel_time_seconds', help: 'Average travel time of the trips matched between entry and exit cameras in the last window', registers, collect() { this.set(rt.kpis.at(-1)?.averageTravelTime ?? 0); } });
  new Gauge({ name: 'citybrain_average_travel_time_since_start_seconds', help: 'Average travel time of every trip matched between entry and exit cameras since the city started', registers, collect() { this.set(rt.kpis.at(-1)?.averageTravelTimeSinceStart ?? 0); } });
  new Gauge({ name: 'citybrain_sim_speed', help: 'Simulated seconds per wall-clock second the operator asked for', registers, collect() { this.set(rt.speed); } });
  new Gauge({ name: 'citybrain_sim_achieved_speed', help: 'Simulated seconds per wall-clock second the city achieved over the last seconds (below citybrain_sim_speed when it cannot keep up; 0 paused)', registers, collect() { this.set(rt.achievedSpeed); } });
  new Gauge({ name: 'citybrain_sim_lagging', help: '1 when the city cannot keep the requested speed and runs slower', registers, collect() { this.set(rt.lagging ? 1 : 0); } });
  new Gauge({ name: 'citybrain_decision_seconds', help: 'Wall time of the last control decision for all intersections', registers, collect() { this.set(rt.decisionMs / 1000); } });
  new Gauge({ name: 'citybrain_intersections_fallen_back', help: 'Intersections taken from their controller: the fixed plan after a controller fault, max-pressure after a gridlock', registers, collect() { this.set(rt.supervisor.fallen.size); } });
  new Gauge({ name: 'citybrain_field_events_waiting', help: 'Virtual-city events waiting for ingestion to accept them (backpressure)', registers, collect() { this.set(rt.pendingEvents); } });
  new Gauge({ name: 'citybrain_gridlock', help: '1 while the devices show a gridlock: in some region, lanes holding stopped vehicles with none crossing their stop line for 5 minutes (KpiSample.gridlock)', registers, collect() { this.set(rt.kpis.at(-1)?.gridlock ? 1 : 0); } });
  new Gauge({ name: 'citybrain_lanes_standing', help: 'Detected lanes holding stopped vehicles with none crossing their stop line for 5 minutes', registers, collect() {
    const k = rt.kpis.at(-1);
    this.set(k ? Object.values(k.regions).reduce((a, r) => a + r.standingLanes, 0) : 0);
  } });
  // the alarm in the log too, once when it starts and once when it clears
  let locked = false;
  rt.onStep(() => {
    const g = rt.kpis.at(-1)?.gridlock ?? null;
    if (!!g === locked) return;
    locked = !!g;
    if (g) app.log.warn({ gridlock: g }, `gridlock in ${g.regions.join(', ')}: ${g.standingLanes} lanes hold ${g.queued} stopped vehicles and none has crossed its stop line for ${Math.round((rt.ts - g.since) / 1000)} s`);
    else app.log.info('gridlock cleared: vehicles cross the stop lines again');
  });
  const faults = new Counter({ name: 'citybrain_controller_faults_total', help: 'Controller faults (each hands an intersection back to its fixed plan)', labelNames: ['controller'], registers });
  let seen = 0;
  rt.onStep(() => {
    for (; seen < rt.faults.length; seen++) faults.inc({ controller: rt.faults[seen].controller });
  });
}
