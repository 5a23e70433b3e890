export * from './port';
export { schemaDdl, loadStatements, sqlType } from './ddl';
export { PostgresWarehouse } from './postgres-warehouse';
export { createWarehouse, type WarehouseConfig } from './factory';
export { AGGREGATES, aggregateFromScratch } from './aggregates';
export * from './queries';
export * from './questions';
