import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors';

/**
 * Settings every task shares. Each process parses its config once at start-up with `loadConfig`;
 * nothing else reads the environment.
 */
export const baseSettings = {
  TRIPS_RAW_BUCKET: z.string().min(3).default('trips-raw'),
  TRIPS_LAKE_BUCKET: z.string().min(3).default('trips-lake'),
  AWS_REGION: z.string().min(1).default('eu-central-1'),
  /** Endpoint of an S3-compatible server; unset on AWS. */
  AWS_ENDPOINT_URL_S3: z.string().url().optional(),
  AWS_ENDPOINT_URL: z.string().url().optional(),
  /**
   * A folder holding the buckets as files, in the local S3 server's layout: when set, the tasks
   * read and write it themselves instead of going through an S3 endpoint (`trips run --store
   * files`). Local only: Athena and Redshift read S3.
   */
  TRIPS_OBJECT_DIR: z
    .string()
    .min(1)
    .transform((p) => resolve(p))
    .optional(),
  TRIPS_ENGINE: z.enum(['duckdb', 'athena']).default('duckdb'),
  TRIPS_WAREHOUSE: z.enum(['postgres', 'redshift']).default('postgres'),
  /** postgres://user:password@host:port/db of the local warehouse. */
  TRIPS_PG_URL: z.string().url().optional(),
  /**
   * Local scratch folder (DuckDB's inputs, spill files, per-file outputs), made absolute: a
   * container's working directory may not be writable, its temporary folder is.
   */
  TRIPS_WORK_DIR: z
    .string()
    .min(1)
    .default(join(tmpdir(), 'trips-work'))
    .transform((p) => resolve(p)),
  /**
   * How long a run keeps the day's lock without renewing it. Held by a running task it is renewed
   * every quarter of this; between two tasks of a run (Airflow) it lasts this long.
   */
  TRIPS_LOCK_LEASE_SECONDS: z.coerce.number().int().min(5).max(86_400).default(600),
  /** Above this share of rejected rows, validate-raw fails the run. */
  TRIPS_MAX_REJECT_RATIO: z.coerce.number().min(0).max(1).default(0.05),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
} as const;

export type BaseSettings = z.infer<z.ZodObject<typeof baseSettings>>;

/** Names of settings whose values must never be printed. */
export const SECRET_SETTINGS = ['TRIPS_PG_URL', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

/**
 * Parses `env` against `shape`; on failure throws a ConfigError naming every bad variable and why,
 * never echoing a value.
 */
export function loadConfig<S extends z.ZodRawShape>(
  shape: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<z.ZodObject<S>> {
  const blankAsUnset = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = z.object(shape).safeParse(blankAsUnset);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.');
    const what = issue.code === 'invalid_type' && env[name] === undefined ? 'is missing' : `is invalid (${issue.message})`;
    return `${name} ${what}`;
  });
  throw new ConfigError(`configuration error: ${problems.join('; ')}`);
}
