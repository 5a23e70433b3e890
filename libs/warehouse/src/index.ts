export * from './port';
export { schemaDdl, loadSteps, sqlType, type LoadStep } from './ddl';
export { PostgresQueries, PostgresWarehouse } from './postgres-warehouse';
export { createWarehouse, warehouseSettings, type WarehouseConfig } from './factory';
export { RedshiftWarehouse, BATCH_MAX_STATEMENTS, SQL_MAX_BYTES, type RedshiftTarget, type RedshiftWarehouseOptions } from './redshift-warehouse';
export { AGGREGATES, aggregateFromScratch, factTable } from './aggregates';
export * from './queries';
export * from './questions';
