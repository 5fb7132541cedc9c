export * from './model.js';
export { allows, datasetAccess, grantApplies, HUB_READ_ROLES, type DatasetAccess, type Exposure, type HubCaller } from './access.js';
export { checkObject, checkRecord, convertValue, csvHeaderIndex, CsvReader, CsvRows, JsonLinesRows, type HubValue } from './rows.js';
export { csvFastSelect, FAST_LOAD_GIVES_UP } from './rows-sql.js';
export { checkParsedQuery, type QueryTables } from './sql-check.js';
export { dcatCatalogue, dcatDataset, DCAT_CONTEXT, licenceIri, OPEN_FORMATS, openDatasetUrl, openDownloadUrl, type CatalogueInput, type OpenFormat } from './dcat.js';
export * from './device-events.js';
