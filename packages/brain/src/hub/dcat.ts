/**
 * The hub's public datasets as a DCAT-AP 3 catalogue in JSON-LD (an inline
 * context: nothing to fetch), so a city portal harvests it (CKAN's
 * ckanext-dcat reads JSON-LD through rdflib). Pure: the server hands in the
 * datasets classified public, their departments and the URLs.
 *
 * What the DCAT-AP 3 shapes (SHACL) require and this gives: a dcat:Catalog
 * with dct:title, dct:description and one dct:publisher (a foaf:Agent with
 * foaf:name); each dcat:Dataset with dct:title and dct:description (and at
 * most one dct:publisher, dct:accrualPeriodicity, dct:issued, dct:modified);
 * each dcat:Distribution with a dcat:accessURL (and at most one
 * dcat:mediaType, dct:format, dct:license, dcat:byteSize as xsd:decimal).
 */
import { CLASSIFICATIONS, type Dataset, type Department, type UpdateFrequency } from './model.js';

export const DCAT_CONTEXT = {
  dcat: 'http://www.w3.org/ns/dcat#',
  dct: 'http://purl.org/dc/terms/',
  foaf: 'http://xmlns.com/foaf/0.1/',
  locn: 'http://www.w3.org/ns/locn#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
  dcatap: 'http://data.europa.eu/r5r/',
} as const;

/** The EU Publications Office's frequency authority table (what DCAT-AP recommends for dct:accrualPeriodicity). */
const FREQUENCY: Record<UpdateFrequency, string> = {
  continuous: 'CONT', hourly: 'HOURLY', daily: 'DAILY', weekly: 'WEEKLY', monthly: 'MONTHLY', quarterly: 'QUARTERLY', annual: 'ANNUAL', irregular: 'IRREG', never: 'NEVER',
};
const FREQUENCY_BASE = 'http://publications.europa.eu/resource/authority/frequency/';
const FILE_TYPE_BASE = 'http://publications.europa.eu/resource/authority/file-type/';
const IANA = 'http://www.iana.org/assignments/media-types/';

/** The downloads of a public dataset: CSV and Parquet. */
export const OPEN_FORMATS = [
  { ext: 'csv', media: 'text/csv', fileType: 'CSV', title: 'CSV' },
  { ext: 'parquet', media: 'application/vnd.apache.parquet', fileType: 'PARQUET', title: 'Apache Parquet' },
] as const;
export type OpenFormat = (typeof OPEN_FORMATS)[number]['ext'];

export interface CatalogueInput {
  /** the server's public base URL, no trailing slash (e.g. https://city.example.org) */
  baseUrl: string;
  title: string;
  description: string;
  /** the catalogue's publisher (the city) */
  publisher: string;
  datasets: readonly Dataset[];
  departments: ReadonlyMap<string, Department>;
  /** a dataset's time extent (its first timestamp or date column's min and max, epoch ms), when known */
  temporal?: ReadonlyMap<string, { start: number; end: number }>;
  /** the city's bounding box in WGS84 (west, south, east, north), when known */
  bbox?: readonly [number, number, number, number];
}

const dateTime = (ms: number) => ({ '@value': new Date(ms).toISOString(), '@type': 'xsd:dateTime' });
const en = (s: string) => ({ '@value': s, '@language': 'en' });

/** A licence as an IRI: a URL as given, an SPDX id as its SPDX page. */
export function licenceIri(licence: string): string {
  return /^https?:\/\//.test(licence) ? licence : `https://spdx.org/licenses/${encodeURIComponent(licence)}.html`;
}

export const openDatasetUrl = (baseUrl: string, id: string) => `${baseUrl}/api/v1/open/datasets/${id}`;
export const openDownloadUrl = (baseUrl: string, id: string, ext: OpenFormat) => `${baseUrl}/api/v1/open/datasets/${id}/data.${ext}`;

/** One public dataset as a dcat:Dataset node. */
export function dcatDataset(d: Dataset, input: Omit<CatalogueInput, 'datasets' | 'title' | 'description' | 'publisher'>): Record<string, unknown> {
  if (d.classification !== CLASSIFICATIONS[0]) throw new Error(`dataset "${d.id}" is ${d.classification}: only public datasets are in the open catalogue`);
  const base = input.baseUrl;
  const dept = input.departments.get(d.owner);
  const licence = { '@id': licenceIri(d.licence), '@type': 'dct:LicenseDocument' };
  const modified = d.batches.length > 0 ? Math.max(...d.batches.map((b) => b.at)) : d.createdAt;
  const bytes = d.batches.reduce((n, b) => n + b.bytes, 0);
  const t = input.temporal?.get(d.id);
  const node: Record<string, unknown> = {
    '@id': openDatasetUrl(base, d.id),
    '@type': 'dcat:Dataset',
    'dct:identifier': d.id,
    'dct:title': en(d.title),
    'dct:description': en(d.description),
    'dct:publisher': { '@id': `${base}/api/v1/open/departments/${d.owner}`, '@type': 'foaf:Agent', 'foaf:name': dept?.name ?? d.owner },
    'dct:accrualPeriodicity': { '@id': FREQUENCY_BASE + FREQUENCY[d.updateFrequency], '@type': 'dct:Frequency' },
    'dct:issued': dateTime(d.createdAt),
    'dct:modified': dateTime(modified),
    'dct:license': licence,
    'dcat:keyword': d.columns.map((c) => c.name),
    'dcat:distribution': OPEN_FORMATS.map((f) => {
      const url = openDownloadUrl(base, d.id, f.ext);
      const dist: Record<string, unknown> = {
        '@id': url,
        '@type': 'dcat:Distribution',
        'dct:title': en(`${d.title} (${f.title})`),
        'dcat:accessURL': { '@id': url },
        'dcat:downloadURL': { '@id': url },
        'dcat:mediaType': { '@id': IANA + f.media, '@type': 'dct:MediaType' },
        'dct:format': { '@id': FILE_TYPE_BASE + f.fileType, '@type': 'dct:MediaTypeOrExtent' },
        'dct:license': licence,
      };
      // the stored Parquet's size; the CSV is made on request
      if (f.ext === 'parquet') dist['dcat:byteSize'] = { '@value': String(bytes), '@type': 'xsd:decimal' };
      return dist;
    }),
  };
  if (t) node['dct:temporal'] = { '@type': 'dct:PeriodOfTime', 'dcat:startDate': dateTime(t.start), 'dcat:endDate': dateTime(t.end) };
  if (input.bbox) {
    const [w, s, e, n] = input.bbox;
    node['dct:spatial'] = {
      '@type': 'dct:Location',
      'dcat:bbox': { '@value': `POLYGON((${w} ${s},${e} ${s},${e} ${n},${w} ${n},${w} ${s}))`, '@type': 'http://www.opengis.net/ont/geosparql#wktLiteral' },
    };
  }
  return node;
}

/** The catalogue (dcat:Catalog) of the public datasets, JSON-LD. */
export function dcatCatalogue(input: CatalogueInput): Record<string, unknown> {
  const datasets = input.datasets.filter((d) => d.classification === CLASSIFICATIONS[0]);
  const modified = Math.max(0, ...datasets.map((d) => Math.max(d.createdAt, ...d.batches.map((b) => b.at))));
  const catalogue: Record<string, unknown> = {
    '@context': DCAT_CONTEXT,
    '@id': `${input.baseUrl}/api/v1/open/catalogue`,
    '@type': 'dcat:Catalog',
    'dct:title': en(input.title),
    'dct:description': en(input.description),
    'dct:publisher': { '@id': `${input.baseUrl}/#publisher`, '@type': 'foaf:Agent', 'foaf:name': input.publisher },
    'foaf:homepage': { '@id': `${input.baseUrl}/` },
    'dcat:dataset': datasets.map((d) => dcatDataset(d, input)),
  };
  if (modified > 0) catalogue['dct:modified'] = dateTime(modified);
  return catalogue;
}
