import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from '@fastify/websocket';
import { READ_ROLES, TICKET_TTL_MS, type Auth, type Role } from '../auth.js';
import type { CityRuntime } from '../city/runtime.js';
import { liveStateView, truthFrame, vehicleFrame } from '../city/views.js';

export interface LiveOptions {
  runtime: CityRuntime;
  /** checks the stream's credentials (bearer header or ticket), issues tickets and rechecks open streams */
  auth: Auth;
  /** wall-clock milliseconds between two state messages; default 500 */
  periodMs?: number;
  /** extra live fields (emergency vehicles, incidents) merged into each state message */
  extras?: () => Record<string, unknown>;
  /** live fields only some roles may see (the watchlist's alerts, which carry plates) */
  privateExtras?: { roles: readonly Role[]; extras: () => Record<string, unknown> };
  /** wall-clock milliseconds between two checks that each open stream's token still holds (not revoked); default 2000 */
  recheckMs?: number;
}

/** Close code of a stream whose token was revoked while it was open (4000–4999: application codes). */
export const LIVE_CLOSE_UNAUTHORIZED = 4401;

/** What the stream answers a request for the ground truth when this server runs no virtual street. */
const NO_VIRTUAL_STREET = 'no virtual street runs here (the brain alone): there is no ground truth to stream';

/** The stream's protocol, in the OpenAPI document as the route's description. */
const PROTOCOL = `Server to client, every period: a JSON text message {type:'state', t, speed, achievedSpeed, lagging, running, phases, lanes:{queue, vehicles, speed}, kpi, virtualStreet, streetDemand (running | ended | finished, with a virtual street), ...}: \
the brain's view (its twin, kept in step with the detectors; KPIs from device events). \
To clients subscribed to vehicles, right after it a binary message Float32Array [t, n, x0, y0, heading0, speed0, ...]: the vehicles of the brain's twin. \
To clients subscribed to truth (only when virtualStreet is true: the demo's simulated street, not personal data), a second, separate binary message \
Float32Array [t, -1, n, x0, y0, heading0, speed0, ...]: the virtual street's ground truth, which the brain does not see; the -1 where a brain frame has its count tells the two apart. \
Client to server: {"type":"subscribe","vehicles":true|false,"truth":true|false} (either field may be left out: it keeps its setting). \
Truth asked of a server without a virtual street: an error message {type:'error', message}, and no truth frames. A stream whose token is revoked is closed with code 4401.`;

/**
 * `GET /api/v1/live` (WebSocket): the city's live state for the dashboard.
 *
 * Credentials: `Authorization: Bearer <token>` where the client can set
 * headers, else `?ticket=` from `POST /api/v1/live/ticket` (browsers): a
 * token is never put in the URL, which proxies and logs keep. Tickets live in
 * the memory of the instance that issued them: behind a load balancer, the
 * ticket request and the stream must reach the same instance (sticky sessions).
 *
 * Everything on the stream is the brain's view (its twin, kept in step with
 * the devices' reports), except the ground truth asked for apart.
 * Server → client, every period, a JSON text message
 *   { type: 'state', t, speed, achievedSpeed, lagging (see GET /api/v1/simulation), running, phases: number[] (in /network intersection order, -1 when unsignalised),
 *     lanes: { queue: number[], vehicles: number[], speed: number[] } (in /network laneOrder), kpi, virtualStreet: boolean }
 * then, to clients that asked for vehicles, a binary message (the brain's twin):
 *   Float32Array [t, n, x0, y0, heading0, speed0, x1, …];
 * and to clients that asked for the truth, a binary message of the virtual
 * street's vehicles (the demo's overlay: the brain never sees them), tagged
 * with TRUTH_FRAME_TAG (-1) where a brain frame has its count, so a client
 * that knows only brain frames refuses it rather than drawing it as the brain's:
 *   Float32Array [t, -1, n, x0, y0, heading0, speed0, x1, …].
 * Client → server: { type: 'subscribe', vehicles?: boolean, truth?: boolean }
 * (a field left out keeps its setting). Without a virtual street (`virtualStreet`
 * false) a request for the truth is answered { type: 'error', message } and
 * no truth frame is sent. Viewers may have it: it is the demo's simulated
 * street, no one's personal data.
 * A stream whose token is revoked is closed with code 4401.
 */
export async function liveRoutes(app: FastifyInstance, opts: LiveOptions): Promise<void> {
  const { runtime: rt, auth } = opts;
  const period = opts.periodMs ?? 500;
  const clients = new Map<WebSocket, { vehicles: boolean; truth: boolean; req: FastifyRequest }>();
  const buf = { xyhs: new Float32Array(0), ids: new Int32Array(0) };

  const timer = setInterval(() => {
    if (clients.size === 0) return;
    const state = { ...liveStateView(rt), ...opts.extras?.() };
    const text = JSON.stringify(state);
    let privateText: string | undefined;
    let binary: Buffer | undefined;
    let truth: Buffer | undefined;
    for (const [ws, sub] of clients) {
      if (ws.readyState !== ws.OPEN) continue;
      // a client that cannot keep up skips frames instead of growing our memory
      if (ws.bufferedAmount > 4 * 1024 * 1024) continue;
      const priv = opts.privateExtras;
      if (priv && sub.req.principal && priv.roles.includes(sub.req.principal.role)) ws.send((privateText ??= JSON.stringify({ ...state, ...priv.extras() })));
      else ws.send(text);
      if (sub.vehicles) {
        binary ??= Buffer.from(vehicleFrame(rt, buf).buffer);
        ws.send(binary);
      }
      // the street's ground truth, apart from the brain's frames (only subscribed with a street: see 'message')
      if (sub.truth) {
        truth ??= Buffer.from(truthFrame(rt, buf)!.buffer);
        ws.send(truth);
      }
    }
  }, period);
  // a revoked token stops streaming: the upgrade checked it once, not since
  const recheck = setInterval(() => {
    for (const [ws, { req }] of clients) {
      (req.principal ? auth.stillValid(req.principal) : Promise.resolve(false)).then((ok) => {
        if (!ok && clients.delete(ws)) ws.close(LIVE_CLOSE_UNAUTHORIZED, 'unknown or revoked token');
      }, () => undefined);
    }
  }, opts.recheckMs ?? 2000);
  app.addHook('onClose', async () => {
    clearInterval(timer);
    clearInterval(recheck);
  });

  app.post('/api/v1/live/ticket', {
    onRequest: auth.requireRole(...READ_ROLES),
    schema: {
      tags: ['city'],
      summary: `A single-use ticket to open the live stream as ?ticket= (browsers cannot send headers on a WebSocket), valid ${TICKET_TTL_MS / 1000} s, bound to the caller's token`,
      response: { 200: { type: 'object', properties: { ticket: { type: 'string' }, expiresAt: { type: 'number', description: 'epoch ms' } }, required: ['ticket', 'expiresAt'] } },
    },
  }, async (req) => auth.issueTicket(req.principal!));

  app.get('/api/v1/live', {
    websocket: true,
    onRequest: auth.requireStreamRole(...READ_ROLES),
    schema: {
      tags: ['city'], summary: 'Live city state over WebSocket: the brain\'s view, and on request the virtual street\'s ground truth apart', description: PROTOCOL, hide: false,
      querystring: { type: 'object', properties: { ticket: { type: 'string', maxLength: 64, description: 'from POST /api/v1/live/ticket (or send Authorization: Bearer)' } } },
    },
  }, (socket, req) => {
    clients.set(socket, { vehicles: false, truth: false, req });
    socket.on('message', (raw: Buffer, isBinary: boolean) => {
      if (isBinary || raw.length > 1024) return void socket.close(1003, 'expected a short JSON text message');
      let msg: unknown;
      try {
        msg = JSON.parse(raw.toString('utf8'));
      } catch {
        return void socket.send(JSON.stringify({ type: 'error', message: 'message is not JSON' }));
      }
      const m = msg as { type?: unknown; vehicles?: unknown; truth?: unknown };
      const flag = (v: unknown) => v === undefined || typeof v === 'boolean';
      if (m.type !== 'subscribe' || !flag(m.vehicles) || !flag(m.truth) || (m.vehicles === undefined && m.truth === undefined)) {
        return void socket.send(JSON.stringify({ type: 'error', message: 'expected {"type":"subscribe","vehicles":true|false,"truth":true|false} (either field may be left out)' }));
      }
      // (a stream closed for a revoked token is not taken back in)
      const client = clients.get(socket);
      if (!client) return;
      if (typeof m.vehicles === 'boolean') client.vehicles = m.vehicles;
      if (m.truth === true && !rt.street) return void socket.send(JSON.stringify({ type: 'error', message: NO_VIRTUAL_STREET }));
      if (typeof m.truth === 'boolean') client.truth = m.truth;
    });
    socket.on('close', () => clients.delete(socket));
  });
}
