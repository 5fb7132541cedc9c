/**
 * The SQLite reader for the API's event and audit reads. It runs in a worker
 * thread with its own read-only connection (WAL lets it read beside the
 * writer), so that scanning rows and building a page's JSON never hold up the
 * HTTP event loop, where device ingestion is acknowledged. It reads one
 * request at a time and stops stepping a statement as soon as its page is full.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { auditJson, collectPage, eventJson, type Order, type Page, type PageLimits, type PageRow } from './page.js';

export type ReadRequest =
  | { id: number; t: 'events' | 'audit'; sql: string; params: unknown[]; order: Order; bound: PageLimits }
  | { id: number; t: 'count'; sql: string; params: unknown[] }
  | { id: number; t: 'close' };
export type ReadReply = { id: number; page: Page } | { id: number; n: number } | { id: number; error: string } | { ready: true } | { fatal: string };

type EventRow = { ts: number; seq: number; body: string; received: number };
type AuditRow = Parameters<typeof auditJson>[0];

const port = parentPort!;
const reply = (m: ReadReply) => port.postMessage(m);

let db: Database.Database;
try {
  db = new Database((workerData as { path: string }).path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
} catch (e) {
  reply({ fatal: (e as Error).message });
  process.exit(1);
}
const stmts = new Map<string, Database.Statement>();
const stmt = (sql: string) => {
  let s = stmts.get(sql);
  if (!s) stmts.set(sql, (s = db.prepare(sql)));
  return s;
};

function* eventRows(it: Iterable<unknown>): Iterable<PageRow> {
  for (const r of it as Iterable<EventRow>) yield { key: [r.ts, r.seq], json: eventJson(r.body, r.received) };
}
function* auditRows(it: Iterable<unknown>): Iterable<PageRow> {
  for (const r of it as Iterable<AuditRow>) yield { key: [r.seq], json: auditJson(r) };
}

port.on('message', (m: ReadRequest) => {
  if (m.t === 'close') {
    db.close();
    reply({ id: m.id, n: 0 });
    port.close();
    return;
  }
  try {
    if (m.t === 'count') reply({ id: m.id, n: (stmt(m.sql).get(...m.params) as { n: number }).n });
    else {
      // collectPage stops iterating when the page is full, which resets the statement and ends the read
      const rows = stmt(m.sql).iterate(...m.params);
      reply({ id: m.id, page: collectPage(m.t === 'events' ? eventRows(rows) : auditRows(rows), m.t, m.order, m.bound) });
    }
  } catch (e) {
    reply({ id: m.id, error: (e as Error).message });
  }
});
reply({ ready: true });
