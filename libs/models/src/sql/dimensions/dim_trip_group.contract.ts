import type { ModelContract } from '../../contract';

export const dimTripGroupContract: ModelContract = {
  model: 'dim_trip_group',
  grain: 'one row per group of similar trips: region, origin cell, destination cell, time-of-day bucket, grid settings',
  key: ['trip_group_key'],
  notNull: ['trip_group_key', 'region_key', 'origin_cell_x', 'origin_cell_y', 'dest_cell_x', 'dest_cell_y', 'time_bucket', 'cell_size_deg', 'bucket_minutes'],
  relationships: [{ column: 'region_key', to: 'dim_region', field: 'region_key' }],
};
