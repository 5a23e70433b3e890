/**
 * Column lists of the lake tables, in file order. Writers (the SQL models) must produce exactly these
 * columns in this order, and readers rely on it: Redshift COPY from Parquet maps columns by position.
 * The `ds` partition column lives in the S3 key (`ds=D/`), never inside the files.
 */
export type ColumnType = 'varchar' | 'bigint' | 'integer' | 'double' | 'timestamp' | 'date';

export interface Column {
  name: string;
  type: ColumnType;
  nullable?: boolean;
}

export interface TableSchema {
  /** Grain: what one row is. */
  grain: string;
  columns: Column[];
  /** Columns that together identify a row. */
  key: string[];
}

const col = (name: string, type: ColumnType, nullable = false): Column => ({ name, type, nullable });

/** Columns validate-raw writes (CSV with header): the fields exactly as delivered plus where they came from. */
export const VALIDATED_COLUMNS = ['source_file', 'line_no', 'region', 'origin_coord', 'destination_coord', 'datetime', 'datasource'] as const;

/**
 * Longest value (UTF-8 bytes) validate-raw accepts per input field. Names are stored in warehouse
 * columns of NAME_COLUMN_BYTES (Redshift counts varchar lengths in bytes), four times the accepted
 * length, so that case mapping in clean-stage (which may lengthen a name, e.g. ß to SS) always fits.
 * The others are far beyond any real value and keep every row well within DuckDB's line limit.
 */
export const FIELD_MAX_BYTES = { region: 256, datasource: 256, origin_coord: 128, destination_coord: 128, datetime: 40 } as const;
export const NAME_COLUMN_BYTES = 4 * FIELD_MAX_BYTES.region;

/** Columns of quarantined rows (CSV with header). */
export const QUARANTINE_COLUMNS = ['source_file', 'line_no', 'reason', 'detail', 'raw_line'] as const;

export const SCHEMAS = {
  clean: {
    grain: 'one row per distinct trip of the day',
    key: ['trip_id'],
    columns: [
      col('trip_id', 'varchar'),
      col('region', 'varchar'),
      col('datasource', 'varchar'),
      col('trip_ts', 'timestamp'),
      col('origin_lon', 'double'),
      col('origin_lat', 'double'),
      col('dest_lon', 'double'),
      col('dest_lat', 'double'),
      col('source_file', 'varchar'),
      col('line_no', 'bigint'),
    ],
  },
  dimRegion: {
    grain: 'one row per region',
    key: ['region_key'],
    columns: [col('region_key', 'varchar'), col('name', 'varchar')],
  },
  dimDatasource: {
    grain: 'one row per datasource',
    key: ['datasource_key'],
    columns: [col('datasource_key', 'varchar'), col('name', 'varchar')],
  },
  dimDate: {
    grain: 'one row per calendar day',
    key: ['date_key'],
    columns: [
      col('date_key', 'integer'),
      col('calendar_date', 'date'),
      col('year', 'integer'),
      col('month', 'integer'),
      col('day', 'integer'),
      col('iso_day_of_week', 'integer'),
      col('iso_year', 'integer'),
      col('iso_week', 'integer'),
      col('week_start_date', 'date'),
    ],
  },
  dimTimeOfDay: {
    grain: 'one row per hour of the day',
    key: ['time_of_day_key'],
    columns: [col('time_of_day_key', 'integer'), col('hour_of_day', 'integer'), col('label', 'varchar'), col('day_part', 'varchar')],
  },
  dimTripGroup: {
    grain: 'one row per group of similar trips: region, origin cell, destination cell, time-of-day bucket, grid settings',
    key: ['trip_group_key'],
    columns: [
      col('trip_group_key', 'varchar'),
      col('region_key', 'varchar'),
      col('origin_cell_x', 'bigint'),
      col('origin_cell_y', 'bigint'),
      col('dest_cell_x', 'bigint'),
      col('dest_cell_y', 'bigint'),
      col('time_bucket', 'integer'),
      col('cell_size_deg', 'double'),
      col('bucket_minutes', 'integer'),
    ],
  },
  factTrips: {
    grain: 'one row per trip',
    key: ['trip_id'],
    columns: [
      col('trip_id', 'varchar'),
      col('trip_ts', 'timestamp'),
      col('origin_lon', 'double'),
      col('origin_lat', 'double'),
      col('dest_lon', 'double'),
      col('dest_lat', 'double'),
      col('region_key', 'varchar'),
      col('datasource_key', 'varchar'),
      col('date_key', 'integer'),
      col('time_of_day_key', 'integer'),
      col('trip_group_key', 'varchar'),
      col('origin_cell_x', 'bigint'),
      col('origin_cell_y', 'bigint'),
      col('dest_cell_x', 'bigint'),
      col('dest_cell_y', 'bigint'),
    ],
  },
} satisfies Record<string, TableSchema>;

export type SchemaName = keyof typeof SCHEMAS;
