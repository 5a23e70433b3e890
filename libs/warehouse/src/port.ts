import type { LakeTable, Location, SchemaName } from '@trips/pipeline';

/**
 * How a load replaces what the warehouse holds:
 * - `merge` (dimensions): insert the members whose key is not there yet; existing rows stay as they are.
 * - `replace-partition` (facts): delete the rows of the ds, insert the staged rows, except trips whose
 *   key is already loaded under another ds (cross-batch duplicates, counted).
 */
export type LoadMode = 'merge' | 'replace-partition';

export interface WarehouseTable {
  /** Table name inside the `trips` schema. */
  name: string;
  /** Column list (SCHEMAS in @trips/pipeline) the lake files hold, in file order. */
  schema: SchemaName;
  lake: LakeTable;
  mode: LoadMode;
}

/** Load order matters: dimensions before the facts that reference them. */
export const WAREHOUSE_TABLES: WarehouseTable[] = [
  { name: 'dim_region', schema: 'dimRegion', lake: 'dimRegion', mode: 'merge' },
  { name: 'dim_datasource', schema: 'dimDatasource', lake: 'dimDatasource', mode: 'merge' },
  { name: 'dim_date', schema: 'dimDate', lake: 'dimDate', mode: 'merge' },
  { name: 'dim_time_of_day', schema: 'dimTimeOfDay', lake: 'dimTimeOfDay', mode: 'merge' },
  { name: 'dim_trip_group', schema: 'dimTripGroup', lake: 'dimTripGroup', mode: 'merge' },
  { name: 'fact_trips', schema: 'factTrips', lake: 'factTrips', mode: 'replace-partition' },
];

export const WAREHOUSE_SCHEMA = 'trips';

export interface LoadRequest {
  table: WarehouseTable;
  /** The ds partition of the lake table holding the Parquet files. */
  source: Location;
  ds: string;
}

export interface LoadResult {
  table: string;
  /** Rows read from the lake files. */
  staged: number;
  inserted: number;
  /** Rows removed first (replace-partition: the ds's previous rows). */
  deleted: number;
  /** Staged rows not inserted: members already present (merge) or trips loaded under another ds. */
  skipped: number;
}

export interface Warehouse {
  readonly dialect: 'postgres' | 'redshift';
  /** Creates the schema and tables if missing; safe to run every time. */
  ensureSchema(): Promise<void>;
  /** Loads one table for one ds in one transaction. */
  loadTable(req: LoadRequest): Promise<LoadResult>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}
