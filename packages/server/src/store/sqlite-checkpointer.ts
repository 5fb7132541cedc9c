/**
 * Copies the WAL back into the database file from its own thread and
 * connection, so that the writer's commits are not stalled by checkpoints
 * (SQLite's automatic ones run inside a commit and fsync the database file).
 * PASSIVE checkpoints do the copying without blocking the writer, but under
 * constant writes they never catch up with the end of the WAL, which then
 * never restarts and grows without bound; so once the WAL passes
 * `restartBytes`, a RESTART checkpoint, run right after a PASSIVE pass that
 * found little left to copy, briefly holds the writer and rewinds the WAL.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs, restartBytes } = workerData as { path: string; intervalMs: number; restartBytes: number };
const db = new Database(path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
const pageSize = db.pragma('page_size', { simple: true }) as number;
const timer = setInterval(() => {
  try {
    // PASSIVE passes until one finds little new (it took under 20 ms): only then is a
    // RESTART cheap, since the writer waits for exactly what is left to copy
    for (let pass = 0; pass < 20; pass++) {
      const t0 = performance.now();
      const [r] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
      if (!r || r.log * pageSize <= restartBytes) break;
      if (performance.now() - t0 < 20) {
        db.pragma('wal_checkpoint(RESTART)');
        break;
      }
    }
  } catch {
    // busy or the file is going away: try again next time
  }
}, intervalMs);
parentPort!.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
