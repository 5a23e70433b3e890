import { z } from 'zod';
import type { Vars } from './macros';

/**
 * Settings of the trip grouping, shared by build-dimensions and build-facts (both must agree or
 * the facts' group keys would miss the dimension). Declared once here.
 */
export const gridSettings = {
  /**
   * Side of a grid cell in degrees (0.01 ≈ 1.1 km of latitude). Kept as text: it is part of the
   * group key. At least 0.0001 (about 11 m), so that a cell's number fits the warehouse's 4-byte integer.
   */
  TRIPS_GRID_CELL_DEG: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'a positive decimal number such as 0.01')
    .refine((v) => Number(v) >= 0.0001, 'must be at least 0.0001 (about 11 m), so that cell numbers fit in 4 bytes')
    .default('0.01'),
  /** Width of a time-of-day bucket in minutes. */
  TRIPS_TIME_BUCKET_MINUTES: z.coerce.number().int().min(1).max(1440).default(60),
} as const;

export type GridSettings = z.infer<z.ZodObject<typeof gridSettings>>;

/** The model variables the grid settings become. */
export function gridVars(cfg: GridSettings): Vars {
  return { cell_size_deg: cfg.TRIPS_GRID_CELL_DEG, bucket_minutes: cfg.TRIPS_TIME_BUCKET_MINUTES };
}
