import { join, resolve } from 'node:path';
import { baseSettings, loadConfig } from '@trips/core';
import { DEFAULT_KEEP_SECONDS } from '@trips/local';
import { z } from 'zod';

/** trips-cli's settings, parsed once per command. */
export function cliSettings(root: string) {
  const cfg = loadConfig({
    TRIPS_RAW_BUCKET: baseSettings.TRIPS_RAW_BUCKET,
    TRIPS_LAKE_BUCKET: baseSettings.TRIPS_LAKE_BUCKET,
    TRIPS_LOCK_LEASE_SECONDS: baseSettings.TRIPS_LOCK_LEASE_SECONDS,
    /** Where the local stack keeps its S3 objects, warehouse and scratch files. */
    TRIPS_STATE_DIR: z.string().min(1).default(join(root, '.state')),
    /** How long the PostgreSQL a query started stays up for the next query (0: stopped after each). */
    TRIPS_QUERY_KEEP_SECONDS: z.coerce.number().int().min(0).default(DEFAULT_KEEP_SECONDS),
  });
  return { ...cfg, TRIPS_STATE_DIR: resolve(cfg.TRIPS_STATE_DIR) };
}
