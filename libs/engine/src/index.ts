export type { DatasetRef, Dialect, Location, QueryEngine, QueryRequest, WriteRequest, WriteResult } from './port';
export { DuckDbEngine, type DuckDbEngineOptions } from './duckdb-engine';
export { createEngine, engineSettings, type EngineConfig, type EngineSettings } from './factory';
