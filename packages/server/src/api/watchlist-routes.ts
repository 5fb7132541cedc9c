import type { FastifyInstance } from 'fastify';
import { ALERT_KINDS, LIST_KINDS, type AlertKind, type ListKind } from '@citybrain/brain';
import type { CityAccess } from './city-routes.js';
import type { Audited } from './audited.js';
import type { Role } from '../auth.js';
import { errorSchema, HttpError } from '../errors.js';
import type { WatchlistService } from '../watchlist/service.js';

export interface WatchlistRoutesOptions {
  watchlist: WatchlistService;
  access: CityAccess;
  audited: Audited;
  /** the city's clock (epoch ms): acknowledgements on it, as incidents' */
  now: () => number;
}

/** Who sees plates and manages the lists: the police, and operators. Viewers and apps never see a plate. */
export const PLATE_ROLES: readonly Role[] = ['police', 'operator'];

const alertSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, kind: { type: 'string', enum: ALERT_KINDS }, key: { type: 'string' }, ts: { type: 'number' },
    alert: { type: 'object', additionalProperties: true, description: 'the rule\'s alert: plate (as read), explanation, evidence (reads, where, when, the figures compared)' },
    acknowledged: { anyOf: [{ type: 'null' }, { type: 'object', properties: { by: { type: 'string' }, ts: { type: 'number' } } }] },
  },
};
const entrySchema = {
  type: 'object',
  properties: { id: { type: 'string' }, list: { type: 'string', enum: LIST_KINDS }, note: { type: 'string' }, addedAt: { type: 'number' }, addedBy: { type: 'string' } },
};

/**
 * The plate watchlist: the register import (CSV), wanted and stolen lists,
 * alerts and their acknowledgement, and a plate's look-up, for the police and
 * operators. Every change and every look-up of a plate is audited (the audit
 * names the plate by its keyed hash, never in clear). Lists answer without
 * plates: the clear plate is kept only in an alert.
 *
 * The audit row comes first: `audited` writes the change only once its audit
 * row is durable, and input is checked before either. The watchlist's tables
 * may be in another database file than the audit log (SQLite), so the two are
 * not one transaction: a failure between them leaves an audit row of a change
 * not made (the caller gets the error), never a change without its audit row.
 */
export async function watchlistRoutes(app: FastifyInstance, opts: WatchlistRoutesOptions): Promise<void> {
  const { watchlist: wl, access, audited } = opts;
  const plateError = (e: unknown): never => {
    if (e instanceof RangeError) throw new HttpError('CB_INVALID_REQUEST', e.message);
    throw e;
  };

  app.get('/api/v1/watchlist/register', {
    onRequest: access.require(...PLATE_ROLES),
    schema: { tags: ['watchlist'], summary: 'The vehicle register\'s size (plates are held as keyed hashes only)', response: { 200: { type: 'object', properties: { vehicles: { type: 'integer' } } } } },
  }, async () => ({ vehicles: wl.matcher.register.size }));

  app.post<{ Body: { csv: string; replace?: boolean } }>('/api/v1/watchlist/register', {
    onRequest: access.require(...PLATE_ROLES),
    bodyLimit: 256 * 1024 * 1024,
    schema: {
      tags: ['watchlist'], summary: 'Import the vehicle register from CSV (header plate,use); replace: true clears it first; audited. A fault is named with its line.',
      body: { type: 'object', properties: { csv: { type: 'string' }, replace: { type: 'boolean', default: false } }, required: ['csv'], additionalProperties: false },
      response: { 200: { type: 'object', properties: { imported: { type: 'integer' }, vehicles: { type: 'integer' } } }, 400: errorSchema },
    },
  }, async (req) => {
    const { csv, replace = false } = req.body;
    // checked before the audit: a refused file changes nothing and leaves no audit row
    let rows: ReturnType<typeof wl.parseRegister>;
    try {
      rows = wl.parseRegister(csv);
    } catch (e) {
      return plateError(e);
    }
    return audited(() => ({
      entry: { ...access.who(req), action: 'import-register', target: 'watchlist:register', before: { vehicles: wl.matcher.register.size }, after: { replace, rows: rows.length, bytes: csv.length } },
      apply: async () => {
        const imported = await wl.importRegister(rows, replace);
        return { imported, vehicles: wl.matcher.register.size };
      },
    }));
  });

  app.get('/api/v1/watchlist/entries', {
    onRequest: access.require(...PLATE_ROLES),
    schema: { tags: ['watchlist'], summary: 'The wanted and stolen lists\' entries (without plates: they are held as keyed hashes)', response: { 200: { type: 'array', items: entrySchema } } },
  }, async () => (await wl.store.listEntries()).map(({ key: _k, canonicalKey: _c, ...e }) => e));

  app.post<{ Body: { list: ListKind; plate: string; note?: string } }>('/api/v1/watchlist/entries', {
    onRequest: access.require(...PLATE_ROLES),
    schema: {
      tags: ['watchlist'], summary: 'Put a plate on the wanted or stolen list; audited (by the plate\'s keyed hash)',
      body: {
        type: 'object', additionalProperties: false, required: ['list', 'plate'],
        properties: { list: { type: 'string', enum: LIST_KINDS }, plate: { type: 'string', minLength: 1, maxLength: 16 }, note: { type: 'string', maxLength: 500 } },
      },
      response: { 200: entrySchema, 400: errorSchema },
    },
  }, async (req) => {
    const { list, plate, note } = req.body;
    let keys: { key: string };
    try {
      keys = wl.keysOf(plate);
    } catch (e) {
      return plateError(e);
    }
    const { actor } = access.who(req);
    return audited(() => ({
      entry: { ...access.who(req), action: 'add-watchlist-entry', target: `plate:${keys.key}`, before: null, after: { list, note: note ?? null } },
      apply: async () => {
        const { key: _k, canonicalKey: _c, ...e } = await wl.addEntry(list, plate, note, actor, Date.now());
        return e;
      },
    }));
  });

  app.delete<{ Params: { id: string } }>('/api/v1/watchlist/entries/:id', {
    onRequest: access.require(...PLATE_ROLES),
    schema: {
      tags: ['watchlist'], summary: 'Take an entry off its list; audited',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 128 } }, required: ['id'] },
      response: { 200: entrySchema, 404: errorSchema },
    },
  }, async (req) => {
    const known = (await wl.store.listEntries()).find((e) => e.id === req.params.id);
    if (!known) throw new HttpError('CB_NOT_FOUND', `no watchlist entry "${req.params.id}"`);
    return audited(() => ({
      entry: { ...access.who(req), action: 'remove-watchlist-entry', target: `plate:${known.key}`, before: { list: known.list, id: known.id }, after: null },
      apply: async () => {
        await wl.removeEntry(known.id);
        const { key: _k, canonicalKey: _c, ...e } = known;
        return e;
      },
    }));
  });

  app.get<{ Querystring: { kind?: AlertKind; status?: 'open' | 'acknowledged' | 'all'; limit?: number } }>('/api/v1/watchlist/alerts', {
    onRequest: access.require(...PLATE_ROLES),
    schema: {
      tags: ['watchlist'], summary: 'Watchlist alerts, newest first, with their evidence',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { kind: { type: 'string', enum: ALERT_KINDS }, status: { type: 'string', enum: ['open', 'acknowledged', 'all'], default: 'all' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
      },
      response: { 200: { type: 'array', items: alertSchema } },
    },
  }, async (req) => {
    await wl.settled();
    return wl.store.alerts({ kind: req.query.kind, status: req.query.status ?? 'all', limit: req.query.limit ?? 100 });
  });

  app.post<{ Params: { id: string } }>('/api/v1/watchlist/alerts/:id/acknowledge', {
    onRequest: access.require(...PLATE_ROLES),
    schema: {
      tags: ['watchlist'], summary: 'Acknowledge an alert (officers on it); audited. Acknowledging twice keeps the first.',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 128 } }, required: ['id'] },
      response: { 200: alertSchema, 404: errorSchema },
    },
  }, async (req) => {
    await wl.settled();
    const known = (await wl.store.alerts({ status: 'all', limit: 1000 })).find((a) => a.id === req.params.id);
    if (!known) throw new HttpError('CB_NOT_FOUND', `no watchlist alert "${req.params.id}"`);
    const { actor } = access.who(req);
    if (known.acknowledged !== null) return known;
    return audited(() => ({
      entry: { ...access.who(req), action: 'acknowledge-watchlist-alert', target: `watchlist-alert:${known.id}`, before: null, after: { kind: known.kind, plate: `plate:${known.key}` } },
      apply: async () => (await wl.acknowledge(known.id, actor, opts.now())) ?? known,
    }));
  });

  app.get<{ Params: { plate: string }; Querystring: { limit?: number } }>('/api/v1/watchlist/plates/:plate', {
    onRequest: access.require(...PLATE_ROLES),
    schema: {
      tags: ['watchlist'], summary: 'Look a plate up (its reads, by keyed hash, and its alerts); every look-up is audited',
      params: { type: 'object', properties: { plate: { type: 'string', minLength: 1, maxLength: 16 } }, required: ['plate'] },
      querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
      response: {
        200: {
          type: 'object',
          properties: {
            registered: { type: 'boolean' },
            reads: { type: 'array', items: { type: 'object', properties: { ts: { type: 'number' }, camera: { type: 'string' }, intersection: { type: 'string' }, matched: { type: 'boolean' } } } },
            alerts: { type: 'array', items: alertSchema },
          },
        },
        400: errorSchema,
      },
    },
  }, async (req) => {
    let keys: { key: string; canonicalKey: string };
    try {
      keys = wl.keysOf(req.params.plate);
    } catch (e) {
      return plateError(e);
    }
    const limit = req.query.limit ?? 100;
    return audited(() => ({
      entry: { ...access.who(req), action: 'lookup-plate', target: `plate:${keys.key}`, before: null, after: null },
      apply: async () => {
        await wl.settled();
        const reads = await wl.store.reads(keys.canonicalKey, limit);
        const alerts = await wl.store.alerts({ key: keys.canonicalKey, status: 'all', limit });
        return { registered: wl.matcher.register.hasCanonical(keys.canonicalKey), reads: reads.map(({ key: _k, ...r }) => r), alerts };
      },
    }));
  });
}
