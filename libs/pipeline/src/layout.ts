import type { Location } from '@trips/core';
import { table, type TableDef } from './catalog';

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

export function rawBatch(b: Buckets, ds: string): Location {
  return { bucket: b.raw, prefix: `${RAW_PREFIX}ingest_date=${ds}/` };
}

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

/** The lock a run holds on its day (lake bucket): one run of a ds at a time. */
export function lockKey(ds: string): string {
  return `locks/ds=${ds}.json`;
}

/**
 * Table properties for Athena partition projection on `ds`: Athena computes the partition's S3
 * location from the template (the same layout `rowsLocation` gives), so no task ever runs MSCK
 * REPAIR or adds partitions.
 */
export function partitionProjection(b: Buckets, t: string | TableDef, firstDs = '2018-01-01'): Record<string, string> {
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
