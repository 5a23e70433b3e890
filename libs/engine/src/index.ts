export type { DatasetRef, QueryEngine, QueryRequest, WriteRequest, WriteResult } from './port';
export { DuckDbEngine, type DuckDbEngineOptions } from './duckdb-engine';
export { AthenaEngine, AthenaQueryError, athenaValue, STAGING_PREFIX, type AthenaEngineOptions } from './athena-engine';
export { athenaSettings, createEngine, engineSettings, type AthenaSettings, type EngineConfig, type EngineSettings } from './factory';
