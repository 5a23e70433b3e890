import type { ModelContract } from '../../contract';

export const cleanTripsContract: ModelContract = {
  model: 'clean_trips',
  grain: 'one row per distinct trip of the day',
  key: ['trip_id'],
  notNull: ['trip_id', 'region', 'datasource', 'trip_ts', 'origin_lon', 'origin_lat', 'dest_lon', 'dest_lat', 'source_file', 'line_no'],
};
