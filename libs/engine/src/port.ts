/**
 * The query engine port: SQL text in, Parquet in the object store out. Two adapters: DuckDB
 * in-process (local) and Athena (AWS). Models name their inputs by plain table name; each adapter
 * makes the datasets of a request available under those names for that request only.
 */

import type { Location, QueryDialect } from '@trips/core';

export type { Location };

/** A dataset a query reads: every object under `location`, visible to the SQL as table `name`. */
export interface DatasetRef {
  name: string;
  location: Location;
  format: 'parquet' | 'csv';
  /**
   * CSV only: the header's column names in order. Every CSV column is read as text (varchar);
   * the SQL casts. Without it the header of the files decides.
   */
  columns?: readonly string[];
  /**
   * The Hive partition the location is, e.g. `{ ds: '2018-05-28' }` for `.../ds=2018-05-28/`.
   * DuckDB reads the location's files directly and ignores it; on Athena, where inputs are Glue
   * tables, it selects the partition of table `name`.
   */
  partition?: Record<string, string>;
}

export interface WriteRequest {
  /** One SELECT in the engine's dialect. */
  sql: string;
  inputs: DatasetRef[];
  /** Replaced as a whole: whatever was under it before is gone once the write succeeds, and untouched if it fails. */
  target: Location;
  /**
   * The catalog id of the table the target is a partition of. Athena counts the rows written
   * through it (UNLOAD reports none); DuckDB knows the count anyway.
   */
  table?: string;
}

export interface WriteResult {
  /** Rows the SELECT produced (and the files hold). */
  rows: number;
  /** Object keys written under the target, in order. */
  files: string[];
}

export interface QueryRequest {
  /** One small SELECT in the engine's dialect (results are held in memory). */
  sql: string;
  inputs: DatasetRef[];
}

export interface QueryEngine {
  readonly dialect: QueryDialect;
  /**
   * Runs a SELECT and replaces the target prefix with its result as Parquet files, one or more
   * (Zstandard on DuckDB, a third smaller on the laptop's disk; Snappy on Athena), named as the
   * engine names them (Athena's have no extension) and never as an earlier write's. Until the new
   * files are all in place the old ones stay, whole; they are deleted last, so a write that fails
   * leaves the previous partition readable.
   */
  writeParquet(req: WriteRequest): Promise<WriteResult>;
  /**
   * Runs a small SELECT and returns its rows as plain objects, columns in order: numbers as JS
   * numbers (bigints too when safe, else decimal text), dates as 'YYYY-MM-DD', timestamps as
   * 'YYYY-MM-DD HH:MM:SS.mmm' (no zone), text as strings, NULL as null.
   */
  query<T = Record<string, unknown>>(req: QueryRequest): Promise<T[]>;
  /** Releases the engine and removes its local files. Safe to call twice. */
  close(): Promise<void>;
}
