import type { Location, Progress, WarehouseDialect } from '@trips/core';
import type { TableDef, WarehouseSpec } from '@trips/pipeline';
import type { LoadFile } from './load-files';

/** A catalog table the warehouse holds (it has a warehouse entry). */
export type WarehouseTable = TableDef & { warehouse: WarehouseSpec };

export { WAREHOUSE_SCHEMA } from '@trips/pipeline';

export interface LoadRequest {
  table: WarehouseTable;
  /** The ds partition of the lake table holding the Parquet files. */
  source: Location;
  /** Its data files, checked against the catalog (checkedLoadFiles): exactly what is loaded. */
  files: LoadFile[];
  /** The COPY manifest of `files` (copyManifest), written by the caller: Redshift's COPY reads it; PostgreSQL reads `files`. */
  manifest: { bucket: string; key: string };
  ds: string;
  /** Where the load reports its stages (staging, copying, each load step) when it can tell them apart. */
  progress?: Progress;
  /**
   * The load changes the warehouse only once this has resolved, and changes nothing if it rejects;
   * the lake rows are staged meanwhile where the adapter can (PostgreSQL). load-redshift passes the
   * dimensions' loads for the facts.
   */
  after?: Promise<unknown>;
}

export interface LoadResult {
  table: string;
  /** Rows read from the lake files. */
  staged: number;
  inserted: number;
  /** Rows removed first (replace-partition: the ds's rows that go or are rewritten). */
  deleted: number;
  /** Staged rows not inserted: members already present (merge) or trips an earlier day delivers. */
  skipped: number;
}

/** How a statement is asked. */
export interface QueryOptions {
  /**
   * The text is one of the few fixed questions (sql/), asked again and again in a session: PostgreSQL
   * keeps it prepared on the connection and, once its plan no longer depends on the values, reuses
   * it. Planning a question costs with every day partition it reads (30-80 ms for a box at 110
   * partitions, more than running it; docs/scale.md).
   */
  reuse?: boolean;
}

/** The warehouse as the questions see it: SQL in, rows out. */
export interface WarehouseQueries {
  readonly dialect: WarehouseDialect;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<T[]>;
  close(): Promise<void>;
}

/** The warehouse as load-redshift sees it: it creates the schema and loads a day of a table. */
export interface WarehouseLoader extends WarehouseQueries {
  /** Creates the schema and tables if missing; safe to run every time. */
  ensureSchema(): Promise<void>;
  /** Loads one table for one ds in one transaction. */
  loadTable(req: LoadRequest): Promise<LoadResult>;
  /**
   * Upkeep once a day's loads of `tables` have committed, outside any transaction: what the warehouse
   * needs so that the next load costs what this one did (PostgreSQL: VACUUM of the merged
   * dimensions). The loads' data is already in; upkeep changes none of it.
   */
  afterLoads?(tables: readonly WarehouseTable[], progress?: Progress): Promise<void>;
}
