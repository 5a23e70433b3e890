import { ConfigError, type Logger } from '@trips/core';
import type { ObjectStore } from '@trips/storage';
import { PostgresWarehouse } from './postgres-warehouse';
import type { Warehouse } from './port';

/** The settings the adapters read; all are in baseSettings of @trips/core. */
export interface WarehouseConfig {
  TRIPS_WAREHOUSE: 'postgres' | 'redshift';
  TRIPS_PG_URL?: string;
  TRIPS_WORK_DIR: string;
}

/** The warehouse adapter the configuration names; fails naming the setting that is missing. */
export function createWarehouse(cfg: WarehouseConfig, store: ObjectStore, logger?: Logger): Warehouse {
  if (cfg.TRIPS_WAREHOUSE === 'redshift') throw new ConfigError('TRIPS_WAREHOUSE=redshift: the Redshift Data API adapter is not built yet; use postgres');
  if (!cfg.TRIPS_PG_URL) throw new ConfigError('TRIPS_PG_URL is missing: it is required when TRIPS_WAREHOUSE=postgres (postgres://user:password@host:port/db)');
  return new PostgresWarehouse(cfg.TRIPS_PG_URL, store, cfg.TRIPS_WORK_DIR, logger);
}
