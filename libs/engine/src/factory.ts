import { z } from 'zod';
import { ConfigError, type BaseSettings, type Logger } from '@trips/core';
import type { ObjectStore } from '@trips/storage';
import { AthenaClient } from '@aws-sdk/client-athena';
import { AthenaEngine } from './athena-engine';
import { DuckDbEngine } from './duckdb-engine';
import type { QueryEngine } from './port';

/** Settings of the Athena adapter (TRIPS_ENGINE=athena); see docs/aws.md. */
export const athenaSettings = {
  /** Athena workgroup the queries run in (its result location and limits apply). */
  TRIPS_ATHENA_WORKGROUP: z.string().min(1).optional(),
  /** Glue database of the pipeline's tables. */
  TRIPS_ATHENA_DATABASE: z.string().min(1).optional(),
  /** s3:// folder for query results, when the workgroup does not enforce one. */
  TRIPS_ATHENA_OUTPUT: z.string().regex(/^s3:\/\/[^/]+\//, 's3://bucket/prefix/').optional(),
  /** A query still running after this long is stopped and the task fails. */
  TRIPS_ATHENA_TIMEOUT_SECONDS: z.coerce.number().int().min(10).default(1800),
} as const;

/** Settings of the engines (the Athena ones apply when TRIPS_ENGINE=athena); DuckDB's defaults keep a 2-million-row day well under 1 GiB of RSS. */
export const engineSettings = {
  /** DuckDB memory_limit; past it DuckDB spills to TRIPS_WORK_DIR. */
  TRIPS_DUCKDB_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i, 'a size such as 512MB')
    .default('512MB'),
  TRIPS_DUCKDB_THREADS: z.coerce.number().int().min(1).max(64).default(2),
  ...athenaSettings,
} as const;

export type EngineSettings = z.infer<z.ZodObject<typeof engineSettings>>;
export type AthenaSettings = z.infer<z.ZodObject<typeof athenaSettings>>;
export type EngineConfig = Pick<BaseSettings, 'TRIPS_ENGINE' | 'TRIPS_WORK_DIR' | 'AWS_REGION'> & EngineSettings;

/**
 * The query engine TRIPS_ENGINE names, reading and writing through `store`. `signal` is aborted
 * when the task is told to stop (SIGTERM from ECS or Airflow): the running Athena query is stopped.
 */
export function createEngine(config: EngineConfig, store: ObjectStore, logger?: Logger, signal?: AbortSignal): QueryEngine {
  switch (config.TRIPS_ENGINE) {
    case 'duckdb':
      return new DuckDbEngine(store, {
        workDir: config.TRIPS_WORK_DIR,
        memoryLimit: config.TRIPS_DUCKDB_MEMORY_LIMIT,
        threads: config.TRIPS_DUCKDB_THREADS,
        logger,
      });
    case 'athena': {
      const missing = (['TRIPS_ATHENA_WORKGROUP', 'TRIPS_ATHENA_DATABASE'] as const).filter((k) => !config[k]);
      if (missing.length > 0) throw new ConfigError(`TRIPS_ENGINE=athena needs ${missing.join(' and ')} (see docs/aws.md)`);
      return new AthenaEngine({
        // One retry layer: the adapter's own (capped backoff, the same request token on every
        // attempt), so the SDK's is off rather than stacked under it.
        client: new AthenaClient({ region: config.AWS_REGION, maxAttempts: 1 }),
        store,
        workgroup: config.TRIPS_ATHENA_WORKGROUP as string,
        database: config.TRIPS_ATHENA_DATABASE as string,
        outputLocation: config.TRIPS_ATHENA_OUTPUT,
        timeoutMs: config.TRIPS_ATHENA_TIMEOUT_SECONDS * 1000,
        signal,
        logger,
      });
    }
    default:
      throw new ConfigError(`TRIPS_ENGINE=${String(config.TRIPS_ENGINE)} is not an engine (duckdb or athena)`);
  }
}
