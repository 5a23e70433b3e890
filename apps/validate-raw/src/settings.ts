import { UsageError } from '@trips/core';
import type { DateRange } from './rules';

/** The trip dates accepted in the batch of `ds`. */
export function tripDateRange(cfg: { TRIPS_MIN_TRIP_DATE: string; TRIPS_MAX_TRIP_DAYS_AFTER_DS: number }, ds: string): DateRange {
  const max = new Date(Date.parse(`${ds}T00:00:00Z`) + cfg.TRIPS_MAX_TRIP_DAYS_AFTER_DS * 86_400_000).toISOString().slice(0, 10);
  if (cfg.TRIPS_MIN_TRIP_DATE > max) throw new UsageError(`TRIPS_MIN_TRIP_DATE ${cfg.TRIPS_MIN_TRIP_DATE} is after the last accepted trip date ${max} for ds=${ds}`);
  return { min: cfg.TRIPS_MIN_TRIP_DATE, max };
}
