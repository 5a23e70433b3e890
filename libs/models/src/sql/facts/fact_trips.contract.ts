import type { ModelContract } from '../../contract';

export const factTripsContract: ModelContract = {
  model: 'fact_trips',
  grain: 'one row per trip',
  key: ['trip_id'],
  notNull: [
    'trip_id', 'trip_ts', 'origin_lon', 'origin_lat', 'dest_lon', 'dest_lat', 'region_key', 'datasource_key',
    'date_key', 'time_of_day_key', 'trip_group_key', 'origin_cell_x', 'origin_cell_y', 'dest_cell_x', 'dest_cell_y',
  ],
  relationships: [
    { column: 'region_key', to: 'dim_region', field: 'region_key' },
    { column: 'datasource_key', to: 'dim_datasource', field: 'datasource_key' },
    { column: 'date_key', to: 'dim_date', field: 'date_key' },
    { column: 'time_of_day_key', to: 'dim_time_of_day', field: 'time_of_day_key' },
    { column: 'trip_group_key', to: 'dim_trip_group', field: 'trip_group_key' },
  ],
};
