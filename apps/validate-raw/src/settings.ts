import { z } from 'zod';
import { UsageError } from '@trips/core';
import type { DateRange } from './rules';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

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

/** The trip dates accepted in the batch of `ds`. */
export function tripDateRange(cfg: { TRIPS_MIN_TRIP_DATE: string; TRIPS_MAX_TRIP_DAYS_AFTER_DS: number }, ds: string): DateRange {
  const max = new Date(Date.parse(`${ds}T00:00:00Z`) + cfg.TRIPS_MAX_TRIP_DAYS_AFTER_DS * 86_400_000).toISOString().slice(0, 10);
  if (cfg.TRIPS_MIN_TRIP_DATE > max) throw new UsageError(`TRIPS_MIN_TRIP_DATE ${cfg.TRIPS_MIN_TRIP_DATE} is after the last accepted trip date ${max} for ds=${ds}`);
  return { min: cfg.TRIPS_MIN_TRIP_DATE, max };
}
