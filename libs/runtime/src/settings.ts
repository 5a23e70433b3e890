import { z } from 'zod';
import { baseSettings } from '@trips/core';
import { engineSettings } from '@trips/engine';
import { gridSettings } from '@trips/models';
import { PIPELINE } from '@trips/pipeline';
import { warehouseSettings } from '@trips/warehouse';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** ingest-sftp's settings besides baseSettings; parsed once in main.ts. */
export const ingestSettings = {
  TRIPS_SFTP_HOST: z.string().min(1),
  TRIPS_SFTP_PORT: z.coerce.number().int().min(1).max(65535).default(22),
  TRIPS_SFTP_USER: z.string().min(1),
  /** Password login; either this or a private key (either may be a KMS ciphertext setting). */
  TRIPS_SFTP_PASSWORD: z.string().min(1).optional(),
  /** OpenSSH/PEM private key text. */
  TRIPS_SFTP_PRIVATE_KEY: z.string().min(1).optional(),
  /** A file holding the private key (e.g. a mounted secret). */
  TRIPS_SFTP_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  TRIPS_SFTP_PRIVATE_KEY_PASSPHRASE: z.string().min(1).optional(),
  /** The server's host key fingerprint as `ssh-keygen -lf` prints it: SHA256:<base64>. Required: no blind trust. */
  TRIPS_SFTP_HOST_KEY_SHA256: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'SHA256:<43 base64 characters>, as ssh-keygen -l prints it'),
  /** Remote folder listed recursively. */
  TRIPS_SFTP_DIR: z.string().min(1).default('/'),
  /** Glob on file names (not paths): `*` and `?`, comma-separated alternatives. */
  TRIPS_SFTP_PATTERN: z.string().min(1).default('*.csv,*.csv.gz'),
  /** A file younger than this (by its modification time) is left for a later pass. */
  TRIPS_SFTP_MIN_AGE_SECONDS: z.coerce.number().min(0).default(60),
  /** A file's size and mtime must not change over this interval before it is taken. */
  TRIPS_SFTP_STABLE_SECONDS: z.coerce.number().min(0).default(5),
  /** What happens to a remote file once its landed copy is verified. */
  TRIPS_SFTP_AFTER: z.enum(['leave', 'move', 'delete']).default('leave'),
  /** Where `move` puts landed files (mirroring their path under TRIPS_SFTP_DIR). */
  TRIPS_SFTP_DONE_DIR: z.string().min(1).optional(),
  /** Connection attempts per pass (with exponential backoff) before it gives up. */
  TRIPS_SFTP_CONNECT_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  /** Longest wait for any one SFTP request, or for more data of a file, before the server counts as stalled. */
  TRIPS_SFTP_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(3600).default(60),
  /** --watch: seconds between passes. */
  TRIPS_SFTP_POLL_SECONDS: z.coerce.number().min(0.1).default(10),
} as const;

/** validate-raw's settings besides baseSettings. */
export const validateSettings = {
  /** Trips dated before this day are refused (datetime_out_of_range). */
  TRIPS_MIN_TRIP_DATE: z.string().regex(DAY, 'a date YYYY-MM-DD').default('2000-01-01'),
  /**
   * Trips dated more than this many days after the batch's ds are refused: a batch cannot hold trips
   * from the far future, and one such date would stretch every weekly question to it.
   */
  TRIPS_MAX_TRIP_DAYS_AFTER_DS: z.coerce.number().int().min(0).max(36_500).default(366),
} as const;

/** The settings of the apps that build a layer of models: the engine's and the grid's. */
export const modelSettings = { ...engineSettings, ...gridSettings } as const;

/**
 * Every task app's settings besides baseSettings, by app: what each parses at start-up (its main.ts
 * passes these), and what the stacks may set in its container's environment.
 */
export const APP_SETTINGS: Record<string, z.ZodRawShape> = {
  'ingest-sftp': ingestSettings,
  'validate-raw': validateSettings,
  'clean-stage': modelSettings,
  'build-dimensions': modelSettings,
  'build-facts': modelSettings,
  'load-redshift': warehouseSettings,
};

/** All the settings an app parses: baseSettings and its own (none registered: baseSettings alone). */
export function appSettings(app: string): z.ZodRawShape {
  return { ...baseSettings, ...(APP_SETTINGS[app] ?? {}) };
}

/** The apps of the pipeline whose settings are not registered here (a test keeps it empty). */
export function unregisteredApps(): string[] {
  return [...new Set(PIPELINE.tasks.map((t) => t.app))].filter((app) => !(app in APP_SETTINGS));
}
