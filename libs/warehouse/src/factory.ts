import { z } from 'zod';
import { ConfigError, type Logger } from '@trips/core';
import type { ObjectStore } from '@trips/storage';
import { PostgresWarehouse } from './postgres-warehouse';
import type { WarehouseLoader } from './port';
import { RedshiftWarehouse } from './redshift-warehouse';

/** Settings of the Redshift Data API adapter (TRIPS_WAREHOUSE=redshift); see docs/aws.md. */
export const warehouseSettings = {
  /** Redshift Serverless workgroup; or TRIPS_REDSHIFT_CLUSTER for a provisioned cluster. */
  TRIPS_REDSHIFT_WORKGROUP: z.string().min(1).optional(),
  TRIPS_REDSHIFT_CLUSTER: z.string().min(1).optional(),
  TRIPS_REDSHIFT_DATABASE: z.string().min(1).default('dev'),
  /** Secrets Manager secret with the database credentials; without it IAM authenticates. */
  TRIPS_REDSHIFT_SECRET_ARN: z.string().startsWith('arn:').optional(),
  /** Database user for IAM temporary credentials on a provisioned cluster. */
  TRIPS_REDSHIFT_DB_USER: z.string().min(1).optional(),
  /** IAM role Redshift assumes to read the lake bucket in COPY. */
  TRIPS_REDSHIFT_COPY_ROLE_ARN: z.string().startsWith('arn:').optional(),
  /** One statement's limit; shorter than load-redshift's task timeout (checked at start-up), so the task fails cleanly first. */
  TRIPS_REDSHIFT_TIMEOUT_SECONDS: z.coerce.number().int().min(10).default(2700),
} as const;

/** The settings the adapters read: TRIPS_WAREHOUSE, TRIPS_PG_URL and TRIPS_WORK_DIR from baseSettings, the rest above. */
export interface WarehouseConfig extends z.infer<z.ZodObject<typeof warehouseSettings>> {
  TRIPS_WAREHOUSE: 'postgres' | 'redshift';
  TRIPS_PG_URL?: string;
  TRIPS_WORK_DIR: string;
  AWS_REGION?: string;
}

/** The warehouse adapter the configuration names; fails naming the settings that are missing. */
export function createWarehouse(cfg: WarehouseConfig, store: ObjectStore, logger?: Logger, signal?: AbortSignal): WarehouseLoader {
  if (cfg.TRIPS_WAREHOUSE === 'redshift') {
    const missing: string[] = [];
    if (!cfg.TRIPS_REDSHIFT_WORKGROUP && !cfg.TRIPS_REDSHIFT_CLUSTER) missing.push('TRIPS_REDSHIFT_WORKGROUP (or TRIPS_REDSHIFT_CLUSTER)');
    if (cfg.TRIPS_REDSHIFT_WORKGROUP && cfg.TRIPS_REDSHIFT_CLUSTER) throw new ConfigError('set TRIPS_REDSHIFT_WORKGROUP or TRIPS_REDSHIFT_CLUSTER, not both');
    if (cfg.TRIPS_REDSHIFT_CLUSTER && !cfg.TRIPS_REDSHIFT_SECRET_ARN && !cfg.TRIPS_REDSHIFT_DB_USER) missing.push('TRIPS_REDSHIFT_SECRET_ARN or TRIPS_REDSHIFT_DB_USER (a cluster needs one)');
    if (!cfg.TRIPS_REDSHIFT_COPY_ROLE_ARN) missing.push('TRIPS_REDSHIFT_COPY_ROLE_ARN');
    if (missing.length > 0) throw new ConfigError(`TRIPS_WAREHOUSE=redshift needs ${missing.join(', ')} (see docs/aws.md)`);
    return new RedshiftWarehouse({
      // Its Data API client made at its first call, with the SDK's retries off: the adapter retries.
      region: cfg.AWS_REGION,
      target: {
        workgroupName: cfg.TRIPS_REDSHIFT_WORKGROUP,
        clusterIdentifier: cfg.TRIPS_REDSHIFT_CLUSTER,
        database: cfg.TRIPS_REDSHIFT_DATABASE,
        secretArn: cfg.TRIPS_REDSHIFT_SECRET_ARN,
        dbUser: cfg.TRIPS_REDSHIFT_DB_USER,
      },
      copyRoleArn: cfg.TRIPS_REDSHIFT_COPY_ROLE_ARN as string,
      timeoutMs: cfg.TRIPS_REDSHIFT_TIMEOUT_SECONDS * 1000,
      signal,
      logger,
    });
  }
  if (!cfg.TRIPS_PG_URL) throw new ConfigError('TRIPS_PG_URL is missing: it is required when TRIPS_WAREHOUSE=postgres (postgres://user:password@host:port/db)');
  return new PostgresWarehouse(cfg.TRIPS_PG_URL, store, cfg.TRIPS_WORK_DIR, logger);
}
