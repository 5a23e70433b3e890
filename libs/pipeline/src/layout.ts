import type { Location } from '@trips/core';
import { CATALOG, table, type ColumnType, type TableDef } from './catalog';

/**
 * The S3 key layout: the contract between tasks (who writes what, who reads it) and the stacks
 * (Athena partition projection, Redshift COPY, IAM prefixes). Lake tables are located by their
 * catalog entry's path; everything else is here.
 */
export interface Buckets {
  raw: string;
  lake: string;
}

/** Prefix of the delivered files in the raw bucket; `ingest_date=D/` below it is a day's batch. */
export const RAW_PREFIX = 'trips/';

/** How the name of a delivered file ends: CSV, or CSV that gzip compressed (validate-raw reads both). */
export const RAW_SUFFIXES = ['.csv', '.csv.gz'] as const;

/** The content type a delivered file is stored with in the raw bucket, by its name. */
export function rawContentType(name: string): string {
  return /\.gz$/i.test(name) ? 'application/gzip' : 'text/csv';
}

/**
 * The raw bucket's event notification that starts runs (the stacks configure it, one rule per
 * suffix, the MWAA DAG reads its queue): RAW_SUFFIXES objects created under RAW_PREFIX. Only
 * delivered files are written there: ingest-sftp keeps its state in the lake bucket and `trips run`
 * stages its copies under `_landing/`, so no bookkeeping starts a run. (A delivered file named
 * otherwise starts no run; the next run of its day, scheduled or started by another file,
 * processes it.)
 */
export const RAW_EVENTS = { events: ['s3:ObjectCreated:*'], prefix: RAW_PREFIX, suffixes: RAW_SUFFIXES } as const;

/** Where ingest-sftp records what it has landed from each source (lake bucket: outside the notified raw prefix). */
export const INGEST_STATE_PREFIX = 'state/ingest-sftp/';

export function ingestStateKey(sourceId: string): string {
  return `${INGEST_STATE_PREFIX}${sourceId}.json`;
}

export function rawBatch(b: Buckets, ds: string): Location {
  return { bucket: b.raw, prefix: rawBatchTemplate(ds) };
}

/** The key prefix of a day's raw batch; `{{ ds }}` (the DAG's template) when no day is given. */
export function rawBatchTemplate(ds = '{{ ds }}'): string {
  return `${RAW_PREFIX}ingest_date=${ds}/`;
}

/** The warehouse schema every warehouse table lives in. */
export const WAREHOUSE_SCHEMA = 'trips';

const entry = (t: string | TableDef) => (typeof t === 'string' ? table(t) : t);

/** One day's partition of a lake table: s3://LAKE/<path>/ds=D/. */
export function partition(b: Buckets, t: string | TableDef, ds: string): Location {
  return { bucket: b.lake, prefix: `${entry(t).path}/ds=${ds}/` };
}

/** Where the table's rows are in a day's partition (the partition itself, or its rows folder). */
export function rowsLocation(b: Buckets, t: string | TableDef, ds: string): Location {
  const p = partition(b, t, ds);
  return { ...p, prefix: `${p.prefix}${entry(t).rowsFolder ?? ''}` };
}

/** The whole of a lake table (all partitions). */
export function tableRoot(b: Buckets, t: string | TableDef): Location {
  return { bucket: b.lake, prefix: `${entry(t).path}/` };
}

export function manifestKey(task: string, ds: string): string {
  return `manifests/${task}/ds=${ds}/manifest.json`;
}

/** The list of files a task loaded into a warehouse table for a ds (Redshift COPY manifest), beside its manifest. */
export function copyManifestKey(task: string, table: string, ds: string): string {
  return `manifests/${task}/ds=${ds}/copy/${table}.manifest`;
}

/** The lock a run holds on its day (lake bucket): one run of a ds at a time. */
export function lockKey(ds: string): string {
  return `locks/ds=${ds}.json`;
}

/** The first ds of the lake: Athena's partition projection knows the days from it to today (UTC). */
export const LAKE_FIRST_DS = '2018-01-01';

/**
 * Refuses a ds Athena's partition projection does not know (before LAKE_FIRST_DS, or after today in
 * UTC): it would read nothing for it, silently. Returns the reason, or undefined when the ds is fine.
 */
export function lakeDsProblem(ds: string, now = new Date()): string | undefined {
  const today = now.toISOString().slice(0, 10);
  if (ds < LAKE_FIRST_DS || ds > today) {
    return `ds ${ds} is outside the days the lake's tables know, ${LAKE_FIRST_DS} to today (${today}, UTC): Athena's partition projection would read nothing for it`;
  }
  return undefined;
}

/**
 * Table properties for Athena partition projection on `ds`: Athena computes the partition's S3
 * location from the template (the same layout `rowsLocation` gives), so no task ever runs MSCK
 * REPAIR or adds partitions.
 */
export function partitionProjection(b: Buckets, t: string | TableDef, firstDs = LAKE_FIRST_DS): Record<string, string> {
  return {
    'projection.enabled': 'true',
    'projection.ds.type': 'date',
    'projection.ds.format': 'yyyy-MM-dd',
    'projection.ds.range': `${firstDs},NOW`,
    'projection.ds.interval': '1',
    'projection.ds.interval.unit': 'DAYS',
    'storage.location.template': `s3://${b.lake}/${entry(t).path}/ds=\${ds}/${entry(t).rowsFolder ?? ''}`,
  };
}

/** A lake table as the stacks define it in the Glue catalog, for Athena. */
export interface GlueTableSpec {
  name: string;
  /** The table's root, s3://LAKE/<path>/; each ds partition is found by projection below it. */
  location: string;
  format: 'csv' | 'parquet';
  /** Data columns in file order, with Glue types (a CSV table's are all strings: the files hold text as delivered). */
  columns: Array<{ name: string; type: string }>;
  partitionKeys: Array<{ name: 'ds'; type: 'string' }>;
  /** Table properties: partition projection, and for CSV the header line to skip. */
  parameters: Record<string, string>;
  /** How Athena reads the files. */
  serde: { library: string; parameters: Record<string, string> };
  inputFormat: string;
  outputFormat: string;
}

const GLUE_TYPES: Record<ColumnType, string> = { varchar: 'string', bigint: 'bigint', integer: 'int', double: 'double', timestamp: 'timestamp', date: 'date' };

const DUCKDB_TYPES: Record<ColumnType, string> = { varchar: 'VARCHAR', bigint: 'BIGINT', integer: 'INTEGER', double: 'DOUBLE', timestamp: 'TIMESTAMP', date: 'DATE' };

/** DuckDB's type for a catalog column type: what a Parquet file of the lake written by DuckDB holds. */
export const duckdbType = (t: ColumnType): string => DUCKDB_TYPES[t];

const FORMATS = {
  parquet: {
    serde: { library: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe', parameters: {} },
    inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  },
  // RFC 4180 as validate-raw writes it: quotes doubled; no field holds a backslash (refused), which
  // OpenCSVSerDe would take as an escape, nor a line break, which it would split the row at.
  csv: {
    serde: { library: 'org.apache.hadoop.hive.serde2.OpenCSVSerde', parameters: { separatorChar: ',', quoteChar: '"', escapeChar: '\\' } },
    inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
  },
} as const;

/**
 * The Glue tables of the lake, one per catalog table: partitioned by `ds`, found by partition
 * projection (the quarantine's projection pointing at its rows part only), typed from the catalog.
 */
export function glueTables(b: Buckets, catalog: readonly TableDef[] = CATALOG): GlueTableSpec[] {
  return catalog.map((t) => ({
    name: t.id,
    location: `s3://${b.lake}/${t.path}/`,
    format: t.format,
    columns: t.columns.map((c) => ({ name: c.name, type: t.format === 'csv' ? 'string' : GLUE_TYPES[c.type] })),
    partitionKeys: [{ name: 'ds', type: 'string' }],
    parameters: { ...partitionProjection(b, t), ...(t.format === 'csv' ? { 'skip.header.line.count': '1' } : {}), classification: t.format },
    ...FORMATS[t.format],
  }));
}
