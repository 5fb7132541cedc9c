/**
 * What a hub query may touch, judged on its parsed form (DuckDB's
 * `json_serialize_sql`, which serialises SELECT statements only: COPY,
 * ATTACH, INSTALL, PRAGMA, SET and every other statement fail to serialise and
 * are refused). One SELECT; its tables only the caller's datasets (by bare
 * name) and its own CTEs; no table functions (read_csv, read_parquet, glob,
 * duckdb_views(), ...), no schema- or catalogue-qualified names, no file
 * names as tables; and, when the engine names some (PostgreSQL's), none of
 * the functions it refuses. Pure: the server runs the parser, this reads its answer.
 */
import { HubError } from './model.js';

export interface QueryTables {
  /** the datasets the query reads, sorted */
  tables: string[];
}

/**
 * Checks `parsed` (the JSON text json_serialize_sql returned) against the
 * names the caller may read; returns the datasets read or throws a HubError
 * saying what is refused.
 */
export function checkParsedQuery(parsed: string, allowed: ReadonlySet<string>, refuseFunction?: (name: string) => string | undefined): QueryTables {
  let tree: { error?: boolean; error_message?: string; statements?: unknown[] };
  try {
    tree = JSON.parse(parsed) as typeof tree;
  } catch {
    throw new HubError('the query could not be parsed');
  }
  if (tree.error) {
    const msg = tree.error_message ?? 'syntax error';
    throw new HubError(/Only SELECT/i.test(msg) ? 'only a SELECT query (WITH ... SELECT) is allowed: COPY, ATTACH, INSTALL, LOAD, PRAGMA, SET, CREATE and other statements are refused' : `the query does not parse: ${msg}`);
  }
  if (!Array.isArray(tree.statements) || tree.statements.length !== 1) throw new HubError(`one SELECT statement per query, got ${tree.statements?.length ?? 0}`);
  const ctes = new Set<string>();
  collectCtes(tree.statements[0], ctes);
  const tables = new Set<string>();
  walk(tree.statements[0], (node) => {
    const type = node.type;
    if (type === 'TABLE_FUNCTION') {
      const fn = (node.function as { function_name?: string } | undefined)?.function_name;
      throw new HubError(`table functions are refused${fn ? ` (${fn})` : ''}: a query reads only the datasets you may read, by name`);
    }
    if (type === 'FUNCTION' && refuseFunction) {
      const fn = String(node.function_name ?? '');
      const why = refuseFunction(fn);
      if (why) throw new HubError(`function ${fn} is refused: ${why}`);
    }
    if (type === 'BASE_TABLE') {
      const schema = node.schema_name as string | undefined;
      const catalog = node.catalog_name as string | undefined;
      const name = String(node.table_name ?? '');
      if ((schema !== undefined && schema !== '') || (catalog !== undefined && catalog !== '')) {
        throw new HubError(`"${[catalog, schema, name].filter(Boolean).join('.')}": only datasets by their bare name may be read (no schema, catalogue or file)`);
      }
      if (ctes.has(name.toLowerCase())) return;
      if (!allowed.has(name.toLowerCase())) throw new HubError(`"${name}" is not a dataset you may read`);
      tables.add(name.toLowerCase());
    }
  });
  return { tables: [...tables].sort() };
}

type Node = Record<string, unknown>;

function walk(x: unknown, visit: (n: Node) => void): void {
  if (Array.isArray(x)) {
    for (const y of x) walk(y, visit);
  } else if (x !== null && typeof x === 'object') {
    visit(x as Node);
    for (const v of Object.values(x)) walk(v, visit);
  }
}

function collectCtes(x: unknown, out: Set<string>): void {
  walk(x, (n) => {
    const map = (n.cte_map as { map?: { key?: unknown }[] } | undefined)?.map;
    if (Array.isArray(map)) {
      for (const e of map) {
        if (typeof e.key !== 'string') continue;
        // a CTE named like a file would let a reference outside its scope reach that file
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(e.key)) throw new HubError(`CTE name ${JSON.stringify(e.key)}: letters, digits and _ only`);
        out.add(e.key.toLowerCase());
      }
    }
  });
}
