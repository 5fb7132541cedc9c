import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from '@fastify/websocket';
import { READ_ROLES, TICKET_TTL_MS, type Auth } from '../auth.js';
import type { CityRuntime } from '../city/runtime.js';
import { liveStateView, vehicleFrame } from '../city/views.js';

export interface LiveOptions {
  runtime: CityRuntime;
  /** checks the stream's credentials (bearer header or ticket), issues tickets and rechecks open streams */
  auth: Auth;
  /** wall-clock milliseconds between two state messages; default 500 */
  periodMs?: number;
  /** extra live fields (emergency vehicles, incidents) merged into each state message */
  extras?: () => Record<string, unknown>;
  /** wall-clock milliseconds between two checks that each open stream's token still holds (not revoked); default 2000 */
  recheckMs?: number;
}

/** Close code of a stream whose token was revoked while it was open (4000–4999: application codes). */
export const LIVE_CLOSE_UNAUTHORIZED = 4401;

/**
 * `GET /api/v1/live` (WebSocket): the city's live state for the dashboard.
 *
 * Credentials: `Authorization: Bearer <token>` where the client can set
 * headers, else `?ticket=` from `POST /api/v1/live/ticket` (browsers): a
 * token is never put in the URL, which proxies and logs keep. Tickets live in
 * the memory of the instance that issued them: behind a load balancer, the
 * ticket request and the stream must reach the same instance (sticky sessions).
 *
 * Server → client, every period, a JSON text message
 *   { type: 'state', t, speed, achievedSpeed, lagging (see GET /api/v1/simulation), running, phases: number[] (in /network intersection order, -1 when unsignalised),
 *     lanes: { queue: number[], vehicles: number[], speed: number[] } (in /network laneOrder), kpi }
 * and, to clients that asked for vehicles, right after it a binary message:
 *   Float32Array [t, n, x0, y0, heading0, speed0, x1, …].
 * Client → server: { type: 'subscribe', vehicles: boolean }.
 * A stream whose token is revoked is closed with code 4401.
 */
export async function liveRoutes(app: FastifyInstance, opts: LiveOptions): Promise<void> {
  const { runtime: rt, auth } = opts;
  const period = opts.periodMs ?? 500;
  const clients = new Map<WebSocket, { vehicles: boolean; req: FastifyRequest }>();
  const buf = { xyhs: new Float32Array(0), ids: new Int32Array(0) };

  const timer = setInterval(() => {
    if (clients.size === 0) return;
    const text = JSON.stringify({ ...liveStateView(rt), ...opts.extras?.() });
    let binary: Buffer | undefined;
    for (const [ws, sub] of clients) {
      if (ws.readyState !== ws.OPEN) continue;
      // a client that cannot keep up skips frames instead of growing our memory
      if (ws.bufferedAmount > 4 * 1024 * 1024) continue;
      ws.send(text);
      if (sub.vehicles) {
        binary ??= Buffer.from(vehicleFrame(rt, buf).buffer);
        ws.send(binary);
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
      tags: ['city'], summary: 'Live city state over WebSocket (see the description in live.ts)', hide: false,
      querystring: { type: 'object', properties: { ticket: { type: 'string', maxLength: 64, description: 'from POST /api/v1/live/ticket (or send Authorization: Bearer)' } } },
    },
  }, (socket, req) => {
    clients.set(socket, { vehicles: false, req });
    socket.on('message', (raw: Buffer, isBinary: boolean) => {
      if (isBinary || raw.length > 1024) return void socket.close(1003, 'expected a short JSON text message');
      let msg: unknown;
      try {
        msg = JSON.parse(raw.toString('utf8'));
      } catch {
        return void socket.send(JSON.stringify({ type: 'error', message: 'message is not JSON' }));
      }
      const m = msg as { type?: unknown; vehicles?: unknown };
      if (m.type === 'subscribe' && typeof m.vehicles === 'boolean') {
        // (a stream closed for a revoked token is not taken back in)
        const client = clients.get(socket);
        if (client) client.vehicles = m.vehicles;
      } else {
        socket.send(JSON.stringify({ type: 'error', message: 'expected {"type":"subscribe","vehicles":true|false}' }));
      }
    });
    socket.on('close', () => clients.delete(socket));
  });
}
