import { PostgresStore } from './postgres.js';
import { redactSecrets } from '../redact.js';
import { SqliteStore } from './sqlite.js';
import { StoreError, type EventStore } from './store.js';

export const DEFAULT_STORE_URL = 'sqlite:./citybrain-data/citybrain.db';

/**
 * Opens the store a connection string names:
 * - `sqlite:PATH` (relative to the working directory; `sqlite:///abs/path` also works),
 *   the embedded default, no server needed; the directory is created;
 * - `postgres://user:pass@host:port/db[?schema=NAME]` (or `postgresql://`), tables in
 *   schema NAME (default `citybrain`), created on first start; the database too with `createDatabase`.
 */
export async function openStore(url: string = DEFAULT_STORE_URL, opts: { createDatabase?: boolean } = {}): Promise<EventStore> {
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('///')) path = path.slice(2);
    else if (path.startsWith('//')) path = path.slice(2);
    if (path === '') throw new StoreError('sqlite: store URL needs a file path, e.g. sqlite:./citybrain-data/citybrain.db');
    return SqliteStore.open(path);
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new StoreError(`cannot parse PostgreSQL URL ${redactSecrets(url)}`);
    }
    // `schema` is ours, not a libpq parameter: take it out before pg sees the URL
    const schema = u.searchParams.get('schema') ?? undefined;
    u.searchParams.delete('schema');
    return PostgresStore.open(u.toString(), { schema, createDatabase: opts.createDatabase });
  }
  throw new StoreError(`unknown store URL "${redactSecrets(url)}": use sqlite:PATH (embedded) or postgres://user@host:5432/database`);
}
