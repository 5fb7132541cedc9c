/**
 * Paged reads: a page is the JSON text of at most `limit` rows and about
 * `maxBytes` bytes, built where the rows are read (the SQLite reader thread,
 * or beside the PostgreSQL client), so that the API thread only copies it out;
 * and a cursor to the next page. Cursors are opaque to clients: base64url of
 * the listing, its order and the last row's sort key, so a page continues
 * where the previous one stopped however many rows arrive meanwhile.
 */

/** The largest JSON text of one page, bytes (UTF-8); a single larger row still makes a page of its own. */
export const MAX_PAGE_BYTES = 1 << 20;

/** One page of a read. */
export interface Page {
  /** the rows as a JSON array */
  json: string;
  rows: number;
  /** pass as `after` for the next page; undefined when this is the last */
  next: string | undefined;
}

/** The page size asked for. */
export interface PageLimits {
  /** at most this many rows */
  limit: number;
  /** stop before the page's JSON passes this many bytes (at least one row is always returned); default no bound */
  maxBytes?: number;
}

/** What a cursor continues: events in (ts, seq) order or the audit log in seq order. */
export type Listing = 'events' | 'audit';
export type Order = 'asc' | 'desc';
/** The sort key of the last row of a page: [ts, seq] for events, [seq] for the audit log. */
export type CursorKey = readonly number[];

/** A cursor that is not one this listing issued, or was made for the other order. */
export class CursorError extends RangeError {
  override readonly name = 'CursorError';
}

const KEY_LENGTH: Record<Listing, number> = { events: 2, audit: 1 };

export function encodeCursor(listing: Listing, order: Order, key: CursorKey): string {
  return Buffer.from(`${listing}:${order}:${key.join(':')}`).toString('base64url');
}

/**
 * The sort key a cursor continues after. Throws a CursorError naming the
 * problem when the text is not a cursor of this listing, or was made for the
 * other order (a cursor only means "after this row" in its own direction).
 */
export function decodeCursor(text: string, listing: Listing, order: Order): CursorKey {
  const parts = /^[A-Za-z0-9_-]{1,200}$/.test(text) ? Buffer.from(text, 'base64url').toString().split(':') : [];
  const key = parts.slice(2).map((p) => (/^\d{1,16}$/.test(p) ? Number(p) : NaN));
  if (parts[0] !== listing || (parts[1] !== 'asc' && parts[1] !== 'desc') || key.length !== KEY_LENGTH[listing] || !key.every(Number.isSafeInteger)) {
    throw new CursorError(`"${text.slice(0, 40)}" is not a cursor of the ${listing} listing: pass the next link of a previous page unchanged`);
  }
  if (parts[1] !== order) throw new CursorError(`this cursor continues an order=${parts[1]} listing, not order=${order}`);
  return key;
}

/** A row read for a page: its sort key and its JSON text. */
export interface PageRow {
  key: CursorKey;
  json: string;
}

/**
 * Collects rows (read in the page's order, at most limit + 1 of them, so that
 * one more tells whether a next page exists) into a page: stops at `limit`
 * rows or before the JSON passes `maxBytes`, whichever comes first.
 */
export function collectPage(rows: Iterable<PageRow>, listing: Listing, order: Order, { limit, maxBytes = Infinity }: PageLimits): Page {
  const parts: string[] = [];
  let bytes = 2;
  let last: CursorKey | undefined;
  let more = false;
  for (const row of rows) {
    const size = Buffer.byteLength(row.json) + 1;
    if (parts.length === limit || (parts.length > 0 && bytes + size > maxBytes)) {
      more = true;
      break;
    }
    parts.push(row.json);
    bytes += size;
    last = row.key;
  }
  return { json: `[${parts.join(',')}]`, rows: parts.length, next: more && last ? encodeCursor(listing, order, last) : undefined };
}

/** An event's JSON with the time the server accepted it appended (the stored body is the event as a JSON object). */
export function eventJson(body: string, received: number): string {
  return `${body.slice(0, body.lastIndexOf('}'))},"receivedAt":${received}}`;
}

/** An audit entry's JSON from its row; before and after are stored as JSON text (or null). */
export function auditJson(r: { seq: number; at: number; actor: string; role: string; action: string; target: string; before: string | null; after: string | null }): string {
  const s = JSON.stringify;
  return `{"seq":${r.seq},"at":${r.at},"actor":${s(r.actor)},"role":${s(r.role)},"action":${s(r.action)},"target":${s(r.target)},"before":${r.before ?? 'null'},"after":${r.after ?? 'null'}}`;
}
