/**
 * `citybrain hub`: the city data hub of a running server, through its API
 * (/api/v1/hub): the datasets, registering one, loading a file, granting,
 * SQL queries. Every rule (who may, what is checked) is the server's; this
 * only sends and shows, and says clearly what the server answered.
 */
import { createReadStream, createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { table } from '../table.js';
import { UsageError } from '../usage.js';

export const hubHelp = `citybrain hub <command> [options] [--server URL] [--token T]

The city data hub of a running operations server (README "The city data hub").

  datasets                     the datasets your token may read: id, owner,
                               classification, rows, bytes, your access
  departments                  the departments registered
  register FILE.json           register a dataset (the JSON the API takes:
                               {id, owner, description, columns, updateFrequency,
                               licence, classification, retentionDays?})
  load DATASET FILE [--format csv|jsonl|parquet]
                               load a file as one batch (format from the file's
                               extension: .csv, .jsonl/.ndjson, .parquet); a bad
                               row is named by its line and field, nothing kept
  grant DATASET (--department D | --role R) --access read|write|admin
        [--personal COL,...] [--mask COL=null|hash,...]
                               grant access (the dataset's admins)
  query "SQL" [--format table|json|csv|parquet] [--out FILE]
                               one SELECT over the datasets you may read
                               (default: a table; parquet needs --out)

  --server URL   the server (default CITYBRAIN_SERVER, else http://127.0.0.1:8080)
  --token T      a token (default CITYBRAIN_TOKEN)
  --json         datasets, departments, register, load, grant: the server's JSON`;

interface Conn {
  server: string;
  token: string;
}

/** The server's answer as an error naming the command, the status and the server's code and message. */
export class HubCallError extends UsageError {
  readonly exitCode = 1;
}

async function call(c: Conn, what: string, method: string, path: string, init: { body?: string | ReadableStream; type?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${c.token}` };
  if (init.type) headers['content-type'] = init.type;
  let r: Response;
  try {
    r = await fetch(new URL(path, c.server), { method, headers, body: init.body, ...(init.body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new HubCallError(`${what}: cannot reach the server at ${c.server} (${cause?.code ?? cause?.message ?? (e as Error).message}); give --server URL or CITYBRAIN_SERVER`);
  }
  if (!r.ok) {
    const text = await r.text();
    let detail = text.slice(0, 500);
    try {
      const j = JSON.parse(text) as { code?: string; message?: string };
      if (j.message) detail = `${j.code ? `${j.code}: ` : ''}${j.message}`;
    } catch {
      // not JSON: the text as it came
    }
    const hint = r.status === 401 ? ' (check --token or CITYBRAIN_TOKEN)' : '';
    throw new HubCallError(`${what}: the server answered ${r.status}: ${detail}${hint}`);
  }
  return r;
}

const FORMAT_OF: Record<string, 'csv' | 'jsonl' | 'parquet'> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.parquet': 'parquet' };
const MEDIA = { csv: 'text/csv', jsonl: 'application/x-ndjson', parquet: 'application/vnd.apache.parquet' } as const;

export async function hubCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      server: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean', default: false }, format: { type: 'string' }, out: { type: 'string' },
      department: { type: 'string' }, role: { type: 'string' }, access: { type: 'string' }, personal: { type: 'string' }, mask: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [cmd, ...args] = positionals;
  if (values.help || cmd === undefined) return void console.log(hubHelp);
  const token = values.token ?? process.env.CITYBRAIN_TOKEN;
  if (!token) throw new UsageError('hub: no token: give --token T or set CITYBRAIN_TOKEN (an operator issues one: POST /api/v1/tokens, or citybrain token create)');
  const server = values.server ?? process.env.CITYBRAIN_SERVER ?? 'http://127.0.0.1:8080';
  try {
    new URL(server);
  } catch {
    throw new UsageError(`hub: --server "${server}" is not a URL (e.g. http://127.0.0.1:8080)`);
  }
  const c: Conn = { server, token };
  const print = (x: unknown) => console.log(JSON.stringify(x, null, 2));
  const want = (n: number, usage: string) => {
    if (args.length !== n) throw new UsageError(`hub ${cmd}: usage: citybrain hub ${usage}`);
  };

  switch (cmd) {
    case 'datasets': {
      want(0, 'datasets');
      const list = (await (await call(c, 'hub datasets', 'GET', '/api/v1/hub/datasets')).json()) as Record<string, unknown>[];
      if (values.json) return print(list);
      if (list.length === 0) return void console.log('no datasets this token may read');
      return void console.log(table(['id', 'owner', 'classification', 'rows', 'bytes', 'batches', 'access', 'title'],
        list.map((d) => [d.id, d.owner, d.classification, d.rows, d.bytes, (d.batches as unknown[]).length, d.access, d.title])));
    }
    case 'departments': {
      want(0, 'departments');
      const list = (await (await call(c, 'hub departments', 'GET', '/api/v1/hub/departments')).json()) as Record<string, unknown>[];
      if (values.json) return print(list);
      return void console.log(table(['id', 'name'], list.map((d) => [d.id, d.name])));
    }
    case 'register': {
      want(1, 'register FILE.json');
      const file = args[0];
      if (!existsSync(file)) throw new UsageError(`hub register: ${file} not found`);
      let body: unknown;
      try {
        body = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        throw new UsageError(`hub register: ${file} is not JSON: ${(e as Error).message}`);
      }
      const d = (await (await call(c, 'hub register', 'POST', '/api/v1/hub/datasets', { body: JSON.stringify(body), type: 'application/json' })).json()) as Record<string, unknown>;
      if (values.json) return print(d);
      return void console.log(`registered dataset "${d.id}" (${d.classification}, owner ${d.owner}, ${(d.columns as unknown[]).length} columns)`);
    }
    case 'load': {
      want(2, 'load DATASET FILE [--format csv|jsonl|parquet]');
      const [id, file] = args;
      if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`hub load: ${file} not found`);
      const format = (values.format ?? FORMAT_OF[extname(file).toLowerCase()]) as 'csv' | 'jsonl' | 'parquet' | undefined;
      if (!format || !(format in MEDIA)) throw new UsageError(`hub load: say the format of ${file}: --format csv, jsonl or parquet (or name it .csv, .jsonl, .ndjson or .parquet)`);
      const t0 = performance.now();
      const body = Readable.toWeb(createReadStream(file, { highWaterMark: 1 << 20 })) as unknown as ReadableStream;
      const b = (await (await call(c, `hub load ${id}`, 'POST', `/api/v1/hub/datasets/${encodeURIComponent(id)}/load?format=${format}`, { body, type: MEDIA[format] })).json()) as Record<string, unknown>;
      if (values.json) return print(b);
      const s = (performance.now() - t0) / 1000;
      return void console.log(`loaded ${b.rows} rows into "${id}" as batch ${b.id} (${b.bytes} bytes of Parquet) in ${s.toFixed(2)} s`);
    }
    case 'grant': {
      want(1, 'grant DATASET (--department D | --role R) --access read|write|admin [--personal COL,...] [--mask COL=null|hash,...]');
      if (!values.access) throw new UsageError('hub grant: --access read, write or admin');
      const body: Record<string, unknown> = { access: values.access };
      if (values.department) body.department = values.department;
      if (values.role) body.role = values.role;
      if (values.personal) body.personal = values.personal.split(',').map((s) => s.trim()).filter(Boolean);
      if (values.mask) {
        const masks: Record<string, string> = {};
        for (const m of values.mask.split(',')) {
          const [col, how] = m.split('=').map((s) => s.trim());
          if (!col || !how) throw new UsageError(`hub grant: --mask takes COL=null or COL=hash, comma-separated; got "${m}"`);
          masks[col] = how;
        }
        body.masks = masks;
      }
      const g = (await (await call(c, `hub grant ${args[0]}`, 'POST', `/api/v1/hub/datasets/${encodeURIComponent(args[0])}/grants`, { body: JSON.stringify(body), type: 'application/json' })).json()) as Record<string, unknown>;
      if (values.json) return print(g);
      return void console.log(`granted ${g.access} on "${args[0]}" to ${[g.department && `department ${g.department}`, g.role && `role ${g.role}`].filter(Boolean).join(' of ')} (grant ${g.id})`);
    }
    case 'query': {
      want(1, 'query "SQL" [--format table|json|csv|parquet] [--out FILE]');
      const format = values.format ?? 'table';
      if (!['table', 'json', 'csv', 'parquet'].includes(format)) throw new UsageError(`hub query: --format table, json, csv or parquet; got "${format}"`);
      if (format === 'parquet' && !values.out) throw new UsageError('hub query: --format parquet writes a file: give --out FILE');
      const r = await call(c, 'hub query', 'POST', '/api/v1/hub/query', { body: JSON.stringify({ sql: args[0], format: format === 'table' ? 'json' : format }), type: 'application/json' });
      const truncated = r.headers.get('x-citybrain-truncated') === 'true';
      if (values.out) {
        await pipeline(Readable.fromWeb(r.body as never), createWriteStream(values.out));
        console.error(`${r.headers.get('x-citybrain-rows')} rows written to ${values.out}${truncated ? ' (cut at the server\'s row limit)' : ''}`);
        return;
      }
      if (format !== 'table') return void process.stdout.write(await r.text());
      const j = (await r.json()) as { columns: { name: string }[]; rows: unknown[][]; rowCount: number; ms: number };
      console.log(table(j.columns.map((x) => x.name), j.rows.map((row) => row.map((v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v)))));
      console.error(`${j.rowCount} rows in ${j.ms} ms${truncated ? ' (cut at the server\'s row limit)' : ''}`);
      return;
    }
    default:
      throw new UsageError(`hub: unknown command "${cmd}"; choose datasets, departments, register, load, grant or query`);
  }
}
