export * from './model.js';
export { allows, datasetAccess, grantApplies, HUB_READ_ROLES, type DatasetAccess, type Exposure, type HubCaller } from './access.js';
export { checkObject, checkRecord, convertValue, CsvReader, CsvRows, JsonLinesRows, type HubValue } from './rows.js';
export { checkParsedQuery, type QueryTables } from './sql-check.js';
export { dcatCatalogue, dcatDataset, DCAT_CONTEXT, licenceIri, OPEN_FORMATS, openDatasetUrl, openDownloadUrl, type CatalogueInput, type OpenFormat } from './dcat.js';
