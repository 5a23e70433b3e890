import { z } from 'zod';
import { ConfigError, type BaseSettings, type Logger } from '@trips/core';
import type { ObjectStore } from '@trips/storage';
import { DuckDbEngine } from './duckdb-engine';
import type { QueryEngine } from './port';

/** Settings of the local engine; the defaults keep a 2-million-row day well under 1 GiB of RSS. */
export const engineSettings = {
  /** DuckDB memory_limit; past it DuckDB spills to TRIPS_WORK_DIR. */
  TRIPS_DUCKDB_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i, 'a size such as 512MB')
    .default('512MB'),
  TRIPS_DUCKDB_THREADS: z.coerce.number().int().min(1).max(64).default(2),
} as const;

export type EngineSettings = z.infer<z.ZodObject<typeof engineSettings>>;
export type EngineConfig = Pick<BaseSettings, 'TRIPS_ENGINE' | 'TRIPS_WORK_DIR'> & EngineSettings;

/** The query engine TRIPS_ENGINE names, reading and writing through `store`. */
export function createEngine(config: EngineConfig, store: ObjectStore, logger?: Logger): QueryEngine {
  switch (config.TRIPS_ENGINE) {
    case 'duckdb':
      return new DuckDbEngine(store, {
        workDir: config.TRIPS_WORK_DIR,
        memoryLimit: config.TRIPS_DUCKDB_MEMORY_LIMIT,
        threads: config.TRIPS_DUCKDB_THREADS,
        logger,
      });
    case 'athena':
      throw new ConfigError('TRIPS_ENGINE=athena: the Athena adapter is not built yet; use TRIPS_ENGINE=duckdb');
    default:
      throw new ConfigError(`TRIPS_ENGINE=${String(config.TRIPS_ENGINE)} is not an engine (duckdb or athena)`);
  }
}
